/**
 * The paths in a run's config.json (`model`, `data`) are stored relative to the run folder, with `/`:
 * the run then reads the same files from any working directory and after the folder tree around it
 * moves, and no absolute local path is written into it. The FewGLUE copy bundled with PromptGrad is
 * stored as no `data` at all, so it is found again wherever PromptGrad is installed. Reading resolves
 * the paths against the run folder; the absolute paths of runs written before this stay as they are.
 */
import { relative, resolve, sep } from 'node:path';
import { BUNDLED_FEWGLUE } from '../data/bundled.ts';
import type { RunConfig } from './run-config.ts';

/** What config.json holds for `cfg` in `runFolder`: the paths relative to it, `data` left out when bundled. */
export function storedRunPaths<C extends Pick<RunConfig, 'model' | 'data'>>(
  cfg: C,
  runFolder: string,
): Omit<C, 'data'> & { readonly data?: string } {
  const run = resolve(runFolder);
  const fromRun = (p: string) => relative(run, resolve(p)).split(sep).join('/') || '.';
  const { data, ...rest } = cfg;
  const bundled = resolve(data) === resolve(BUNDLED_FEWGLUE);
  return { ...rest, model: fromRun(cfg.model), ...(bundled ? {} : { data: fromRun(data) }) };
}

/** The config read from `runFolder`'s config.json with its paths resolved against the run folder. */
export const resolveRunPaths = (cfg: RunConfig, runFolder: string): RunConfig => ({
  ...cfg,
  model: resolve(runFolder, cfg.model),
  data: resolve(runFolder, cfg.data),
});
