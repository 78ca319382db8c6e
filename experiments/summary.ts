/**
 * The aggregation math of the experiment grid, on metrics-log records (training/log.ts): per run the
 * validation scores of the best-dev checkpoint and the first step reaching a dev-accuracy threshold;
 * per task × method the mean ± sample std over seeds, how many seeds never reached the threshold, and
 * the mean dev curve. Pure functions, so experiments/aggregate.test.ts checks them on synthetic logs.
 */
import type { MetricRecord } from '../training/log.ts';

export interface MeanStd {
  readonly mean: number;
  /** Sample standard deviation (n − 1); NaN for fewer than two values. */
  readonly std: number;
  readonly n: number;
}

export function meanStd(xs: readonly number[]): MeanStd {
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  const std = n < 2 ? NaN : Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  return { mean, std, n };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The dev records of a log as (step, metric) in step order, skipping records without the metric. */
export function devCurve(records: readonly MetricRecord[], metric: string): [number, number][] {
  const pts: [number, number][] = [];
  for (const r of records) {
    const v = num(r[metric]);
    if (r.split === 'dev' && v !== undefined) pts.push([r.step, v]);
  }
  return pts.sort((p, q) => p[0] - q[0]);
}

/** First step whose dev metric is ≥ threshold (a tolerance of 1e-9 absorbs float noise), or null if none. */
export function stepsToThreshold(curve: readonly (readonly [number, number])[], threshold: number): number | null {
  for (const [step, v] of curve) if (v >= threshold - 1e-9) return step;
  return null;
}

export interface RunSummary {
  readonly seed: number;
  /** Validation scores of the best-dev parameters (the log's `test` record). */
  readonly val: Readonly<Record<string, number>>;
  readonly bestStep: number;
  readonly bestDev: number;
  /** First step with dev accuracy ≥ threshold; null = never. */
  readonly reachStep: number | null;
  readonly devAcc: readonly (readonly [number, number])[];
}

/** One finished run from its log; undefined when the log has no `test` record yet (run unfinished). */
export function summarizeRun(
  records: readonly MetricRecord[],
  o: { seed: number; main: string; threshold: number; valMetrics: readonly string[] },
): RunSummary | undefined {
  const test = records.filter((r) => r.split === 'test').at(-1);
  if (!test) return undefined;
  const val: Record<string, number> = {};
  for (const m of o.valMetrics) {
    const v = num(test[m]);
    if (v !== undefined) val[m] = v;
  }
  const main = devCurve(records, o.main),
    acc = devCurve(records, 'accuracy');
  let best: [number, number] = [0, -Infinity];
  for (const p of main) if (p[1] > best[1]) best = p; // first step at the maximum, as the loop picks it
  return {
    seed: o.seed,
    val,
    bestStep: num(test['bestStep']) ?? best[0],
    bestDev: best[1],
    reachStep: stepsToThreshold(acc, o.threshold),
    devAcc: acc,
  };
}

export interface GroupSummary {
  readonly seeds: readonly number[];
  readonly val: Readonly<Record<string, MeanStd>>;
  readonly bestDev: MeanStd;
  readonly bestStep: MeanStd;
  /** Over the seeds that reached the threshold. */
  readonly reachStep: MeanStd;
  readonly neverReached: number;
  /** Mean dev accuracy per step, over the seeds that have that step. */
  readonly meanDevAcc: readonly (readonly [number, number])[];
}

export function summarizeGroup(runs: readonly RunSummary[], valMetrics: readonly string[]): GroupSummary {
  const val: Record<string, MeanStd> = {};
  for (const m of valMetrics) val[m] = meanStd(runs.flatMap((r) => (r.val[m] === undefined ? [] : [r.val[m]])));
  const reached = runs.flatMap((r) => (r.reachStep === null ? [] : [r.reachStep]));
  const bySteps = new Map<number, number[]>();
  for (const r of runs) for (const [s, v] of r.devAcc) bySteps.set(s, [...(bySteps.get(s) ?? []), v]);
  const meanDevAcc = [...bySteps.entries()]
    .sort((p, q) => p[0] - q[0])
    .map(([s, vs]) => [s, meanStd(vs).mean] as const);
  return {
    seeds: runs.map((r) => r.seed),
    val,
    bestDev: meanStd(runs.map((r) => r.bestDev)),
    bestStep: meanStd(runs.map((r) => r.bestStep)),
    reachStep: meanStd(reached),
    neverReached: runs.length - reached.length,
    meanDevAcc,
  };
}

/** `0.612 ± 0.034` (× 100 with `pct`); a missing std prints as `–`. */
export function fmt(m: MeanStd, digits = 1, pct = true): string {
  if (m.n === 0) return 'n/a';
  const k = pct ? 100 : 1;
  return `${(m.mean * k).toFixed(digits)} ± ${Number.isNaN(m.std) ? '–' : (m.std * k).toFixed(digits)}`;
}
