/**
 * What a multitask run reports: dev scores per task and their average (the model-selection score),
 * the curve with one dev line per task, and results.json with every task's test scores.
 */
import { join } from 'node:path';
import type { Scores } from '../../data/index.ts';
import { writeRunFile, type Fence } from '../fenced-writes.ts';
import type { MetricRecord } from '../log.ts';
import { RUN_FILES } from '../loop.ts';
import { lineChartSvg, PALETTE, type Series } from '../plot.ts';

/** The `task` of the dev line that holds the average of the tasks' main metrics (field `mainAverage`). */
export const AVERAGE = 'average';
export const AVERAGE_FIELD = 'mainAverage';

/** The mean over tasks of each task's main metric. */
export function mainAverage(scores: readonly Scores[], mains: readonly string[]): number {
  const vs = scores.map((s, i) => (s as Record<string, number | undefined>)[mains[i]!] ?? NaN);
  return vs.reduce((a, b) => a + b, 0) / vs.length;
}

/** Best average dev score so far (first step reaching the maximum). */
export function bestAverage(records: readonly MetricRecord[]): { step: number; score: number } {
  let best = { step: 0, score: -Infinity };
  for (const r of records) {
    const v = r[AVERAGE_FIELD];
    if (r.split === 'dev' && r['task'] === AVERAGE && typeof v === 'number' && v > best.score)
      best = { step: r.step, score: v };
  }
  return best;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/** Train loss (left axis, all tasks' steps) and one dev line per task of its main metric (right axis). */
export function multitaskCurveSvg(
  records: readonly MetricRecord[],
  tasks: readonly { readonly name: string; readonly main: string }[],
  title: string,
): string {
  const train = records.filter((r) => r.split === 'train');
  const series: Series[] = [
    {
      name: 'train loss',
      points: train.map((r) => [r.step, num(r.loss)] as const),
      axis: 'left',
      color: PALETTE[0],
      markers: false,
    },
    ...tasks.map((t, i): Series => ({
      name: `${t.name} dev ${t.main}`,
      points: records
        .filter((r) => r.split === 'dev' && r['task'] === t.name)
        .map((r) => [r.step, num(r[t.main])] as const),
      axis: 'right',
      color: PALETTE[(i + 1) % PALETTE.length]!,
    })),
    {
      name: 'dev average',
      points: records
        .filter((r) => r.split === 'dev' && r['task'] === AVERAGE)
        .map((r) => [r.step, num(r[AVERAGE_FIELD])] as const),
      axis: 'right',
      color: '#000000',
      dashed: true,
    },
  ];
  return lineChartSvg(series, { title, xLabel: 'step', yLabel: 'train loss', y2Label: 'dev main metric' });
}

export interface MultitaskResults {
  readonly steps: number;
  readonly bestStep: number;
  /** The average of the tasks' main dev metrics at the best step, and each task's dev scores there. */
  readonly bestDev: { readonly [AVERAGE]: number; readonly tasks: Readonly<Record<string, Scores>> };
  /** Every task's test scores with the best parameters (null when interrupted or no test split). */
  readonly test: Readonly<Record<string, Scores>> | null;
  readonly testAverage: number | null;
}

export function writeResults(out: string, r: MultitaskResults, fence: Fence): void {
  writeRunFile(join(out, RUN_FILES.results), `${JSON.stringify(r, null, 2)}\n`, fence);
}

/** A task's dev scores logged at `step`. */
export function devScoresAt(records: readonly MetricRecord[], task: string, step: number): Scores {
  const r = records.find((x) => x.split === 'dev' && x['task'] === task && x.step === step);
  if (!r) return {};
  const { step: _s, split: _p, time: _t, task: _k, ...scores } = r;
  return scores as Scores;
}
