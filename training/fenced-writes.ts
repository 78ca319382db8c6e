/**
 * The run folder's writes once a run has started, each asked of the run's fence first (TrainOptions.fence:
 * a sweep worker's check that it still owns the run, sweeps/run-owner.ts): metrics lines, checkpoints
 * (asked again once the new folder is complete, just before it is swapped in), curve and results. The
 * single-task loop (loop.ts) and the multitask loop (multitask/train.ts) both write through here, so a
 * worker that lost the run stops at its next write with nothing written, whichever loop it runs.
 */
import * as E from 'fp-ts/lib/Either.js';
import { writeFileAtomic } from './atomic-file.ts';
import { saveCheckpoint, type TrainState } from './checkpoint.ts';
import { fencedAppend, openMetricsLog, type MetricsLog } from './log.ts';
import { UsageError } from './usage-error.ts';

/** Throws to refuse a write (see TrainOptions.fence); absent for a run no one else can take. */
export type Fence = (() => void) | undefined;

/** Writes the checkpoint folder `dir` (plus `extraFiles` in it) if the fence allows, before and at the swap. */
export async function saveCheckpointFenced(
  dir: string,
  state: TrainState,
  fence: Fence,
  extraFiles?: ReadonlyMap<string, Uint8Array>,
): Promise<void> {
  fence?.();
  const r = await saveCheckpoint(dir, state, {
    ...(fence ? { beforeCommit: fence } : {}),
    ...(extraFiles ? { extraFiles } : {}),
  })();
  if (E.isLeft(r)) {
    // A writer that lost the run mid-write (paused past its lock) may see its write fail because the new
    // owner cleared the folder: the takeover is the reason, not the file system.
    fence?.();
    throw r.left.errno ? new UsageError(r.left.message) : new Error(r.left.message);
  }
}

/** Atomically writes one file of the run folder (curve.svg, results.json) if the fence allows. */
export function writeRunFile(path: string, text: string, fence: Fence): void {
  fence?.();
  writeFileAtomic(path, text);
}

/** The run's metrics.jsonl, each line appended only if the fence allows. */
export function openRunLog(path: string, clock: () => number, fence: Fence): MetricsLog {
  return openMetricsLog(path, { clock, ...(fence ? { write: fencedAppend(fence) } : {}) });
}
