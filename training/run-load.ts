/** Reopening a finished (or interrupted) run folder: its effective config and its best parameters. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { loadCheckpoint } from './checkpoint.ts';
import { bestDevStep, runKey } from './loop.ts';
import { RUN_FILES, requireFinishedRun } from './run-folder.ts';
import { adamw } from './optimizer.ts';
import { CONFIG_FIELDS, decodePartial, mergeConfig, type RunConfig } from './run-config.ts';
import { resolveRunPaths } from './run-paths.ts';
import { UsageError } from './usage-error.ts';
import type { TaskModel, TrainParams } from './task-model.ts';
import { cloneTree, disposeTree } from './tree-util.ts';

/**
 * `<run>/config.json` as a RunConfig (extra keys such as `modelSource` are ignored), its paths resolved
 * against the run folder (run-paths.ts). The folder must be
 * a run folder with a readable checkpoint (run-folder.ts); `option` names it in errors.
 */
export function readRunConfig(run: string, option = '--run'): RunConfig {
  requireFinishedRun(run, option);
  const file = join(run, RUN_FILES.config);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(
      `${option} ${run}: cannot read ${file} (${e instanceof Error ? e.message : String(e)}); is this a run folder written by \`promptgrad train\`?`,
    );
  }
  const known = Object.fromEntries(
    Object.entries(json as object).filter(([k]) => (CONFIG_FIELDS as string[]).includes(k)),
  );
  const c = E.flatMap(decodePartial(known, file), (p) => mergeConfig([p], file));
  if (E.isLeft(c)) throw new UsageError(c.left.message);
  return resolveRunPaths(c.right, run); // stored relative to the run folder (older runs: absolute)
}

/** What a run folder's checkpoint gives to score: the parameters and which step they are from. */
export interface ScoredParams {
  readonly best: TrainParams;
  /** The step whose parameters `best` holds: the best dev evaluation's, or the last step's when the run never evaluated on dev. */
  readonly bestStep: number;
  /** Optimiser steps done when the checkpoint was written. */
  readonly step: number;
  /** Whether `best` was chosen by a dev evaluation (false: the run never evaluated on dev, `best` are the last parameters). */
  readonly byDev: boolean;
}

/**
 * The best parameters (by the dev `mainMetric`) stored in `<run>/checkpoint`, or, as train's own test
 * score does, the current ones when no dev evaluation ever ran (the stored best are then the initial ones).
 */
export async function loadBestParams(tm: TaskModel, run: string, mainMetric: string): Promise<ScoredParams> {
  const init = tm.init(runKey(tm.cfg.seed));
  const template = { params: { current: init, best: cloneTree(init) }, opt: adamw().init(init) };
  const r = await loadCheckpoint(join(run, RUN_FILES.checkpoint), template)();
  disposeTree(template.params);
  disposeTree(template.opt.slots);
  if (E.isLeft(r)) throw new UsageError(`--run ${run}: ${r.left.message}`);
  disposeTree(r.right.opt.slots);
  const step = r.right.opt.step,
    bestStep = bestDevStep(r.right.metrics, mainMetric).step;
  if (bestStep === 0) {
    disposeTree(r.right.params.best);
    return { best: r.right.params.current, bestStep: step, step, byDev: false };
  }
  disposeTree(r.right.params.current);
  return { best: r.right.params.best, bestStep, step, byDev: true };
}
