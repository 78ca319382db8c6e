/**
 * The files a pretraining session leaves beside its checkpoints when it stops: `curve.svg` (the MLM
 * loss and masked-token accuracy) and `run.json` (config, steps, tokens seen, best held-out loss). Each
 * replaces the previous session's through writeFileAtomic, so a crash or a full disk mid-write leaves
 * the old file whole rather than a part of the new one. (metrics.jsonl is appended a whole line at a
 * time by training/log.ts, whose reader skips a torn last line; checkpoint/ and best/ are written by
 * training/checkpoint.ts, atomically as folders.)
 */
import { join } from 'node:path';
import { writeFileAtomic, type AtomicWriteOptions } from '../training/atomic-file.ts';
import type { MetricRecord } from '../training/log.ts';
import { trainingCurveSvg } from '../training/plot.ts';

export const PRETRAIN_OUTPUT_FILES = { curve: 'curve.svg', summary: 'run.json' } as const;

/** Writes `<out>/curve.svg` from `metrics` and `<out>/run.json` holding `summary`. */
export function writeRunOutputs(
  out: string,
  metrics: readonly MetricRecord[],
  summary: Readonly<Record<string, unknown>>,
  opts: AtomicWriteOptions = {},
): void {
  const svg = trainingCurveSvg(metrics, { title: 'MLM pretraining', metric: 'acc' });
  writeFileAtomic(join(out, PRETRAIN_OUTPUT_FILES.curve), svg, opts);
  writeFileAtomic(join(out, PRETRAIN_OUTPUT_FILES.summary), `${JSON.stringify(summary, null, 2)}\n`, opts);
}
