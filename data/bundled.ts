/**
 * The data sets that ship inside the package: FewGLUE's seven tasks in `datasets/fewglue/` (provenance,
 * licences and checksums in its README and SHA256SUMS). `train --task RTE` reads them when `--data` is
 * not given. Resolved from this module's own location, so it works from a clone and from an install.
 */
import { fileURLToPath } from 'node:url';

export const BUNDLED_FEWGLUE: string = fileURLToPath(new URL('../datasets/fewglue/', import.meta.url));
