/**
 * The data sets that ship inside the package: FewGLUE's seven tasks in `datasets/fewglue/` (provenance,
 * licences and checksums in its README and SHA256SUMS). `train --task RTE` reads them when `--data` is
 * not given. Resolved from this module's own location, so it works from a clone and from an install
 * (in a browser bundle: a URL beside the bundle's folder).
 */
import { urlToPath } from '../io/platform.ts';

export const BUNDLED_FEWGLUE: string = urlToPath(new URL('../datasets/fewglue/', import.meta.url));
