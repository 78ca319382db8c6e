/** Aggregation math of the experiment grid on synthetic metrics logs: mean/std, steps-to-threshold, never-reached counts. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseMetricsLog, type MetricRecord } from '../training/log.ts';
import { devCurve, fmt, meanStd, stepsToThreshold, summarizeGroup, summarizeRun } from './summary.ts';
import { majorityRate, subsampleVal } from './variants.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);

/** A log as the loop writes it: train records every step, dev every `every`, a final test record. */
function log(
  devAcc: readonly number[],
  every: number,
  test: Record<string, number>,
  extra: (i: number) => Record<string, number> = () => ({}),
): MetricRecord[] {
  const text: string[] = [];
  devAcc.forEach((acc, i) => {
    for (let s = i * every + 1; s <= (i + 1) * every; s++)
      text.push(JSON.stringify({ step: s, split: 'train', loss: 0.7, time: s }));
    text.push(JSON.stringify({ step: (i + 1) * every, split: 'dev', accuracy: acc, ...extra(i), time: i }));
  });
  text.push(JSON.stringify({ step: devAcc.length * every, split: 'test', ...test, time: 99 }));
  const parsed = parseMetricsLog(`${text.join('\n')}\n`, 'synthetic');
  if (parsed._tag === 'Left') throw new Error(parsed.left.message);
  return [...parsed.right.records];
}

test('meanStd: sample std (n − 1), NaN std for one value, NaN mean for none', () => {
  const m = meanStd([0.5, 0.6, 0.7]);
  close(m.mean, 0.6);
  close(m.std, 0.1);
  assert.is(m.n, 3);
  const one = meanStd([0.4]);
  close(one.mean, 0.4);
  assert.ok(Number.isNaN(one.std));
  assert.ok(Number.isNaN(meanStd([]).mean));
  assert.is(fmt(m), '60.0 ± 10.0');
  assert.is(fmt(one), '40.0 ± –');
  assert.is(fmt(meanStd([])), 'n/a');
  assert.is(fmt(meanStd([10, 20]), 1, false), '15.0 ± 7.1');
});

test('stepsToThreshold: first step at or above, null when never; devCurve sorts and skips missing metrics', () => {
  const curve = devCurve(
    [
      { step: 20, split: 'dev', time: 2, accuracy: 0.7 },
      { step: 10, split: 'dev', time: 1, accuracy: 0.55 },
      { step: 15, split: 'train', time: 1.5, accuracy: 0.99 },
      { step: 30, split: 'dev', time: 3, macroF1: 0.9 },
    ],
    'accuracy',
  );
  assert.equal(curve, [
    [10, 0.55],
    [20, 0.7],
  ]);
  assert.is(stepsToThreshold(curve, 0.55), 10); // ≥, not >
  assert.is(stepsToThreshold(curve, 0.6), 20);
  assert.is(stepsToThreshold(curve, 0.71), null);
  assert.is(stepsToThreshold([], 0), null);
  // 0.1 + 0.2 style float noise still counts as reaching 0.3
  assert.is(stepsToThreshold([[5, 0.1 + 0.2]], 0.3), 5);
});

test('summarizeRun: val scores of the test record, best dev = first maximum, reach step on dev accuracy', () => {
  const recs = log([0.5, 0.625, 0.625, 0.6], 10, { accuracy: 0.58, macroF1: 0.4, bestStep: 20 }, (i) => ({
    macroF1: [0.3, 0.5, 0.6, 0.2][i]!,
  }));
  const r = summarizeRun(recs, { seed: 7, main: 'macroF1', threshold: 0.6, valMetrics: ['accuracy', 'macroF1'] });
  assert.ok(r);
  assert.equal(r.val, { accuracy: 0.58, macroF1: 0.4 });
  assert.is(r.bestDev, 0.6); // macroF1 maximum
  assert.is(r.bestStep, 20); // as the loop recorded it
  assert.is(r.reachStep, 20); // first dev accuracy ≥ 0.6
  assert.is(r.devAcc.length, 4);
  // A run without a test record is unfinished.
  assert.is(
    summarizeRun(
      recs.filter((x) => x.split !== 'test'),
      { seed: 1, main: 'accuracy', threshold: 0.5, valMetrics: ['accuracy'] },
    ),
    undefined,
  );
});

test('summarizeGroup: mean ± std over seeds, reach step averaged over reaching seeds only, never-reached counted, mean curve', () => {
  const opts = (seed: number) => ({ seed, main: 'accuracy', threshold: 0.6, valMetrics: ['accuracy'] });
  const runs = [
    summarizeRun(log([0.5, 0.6, 0.7], 10, { accuracy: 0.6, bestStep: 30 }), opts(1))!, // reaches at 20
    summarizeRun(log([0.7, 0.7, 0.7], 10, { accuracy: 0.7, bestStep: 10 }), opts(2))!, // reaches at 10
    summarizeRun(log([0.4, 0.5, 0.5], 10, { accuracy: 0.5, bestStep: 20 }), opts(3))!, // never
  ];
  const g = summarizeGroup(runs, ['accuracy']);
  assert.equal(g.seeds, [1, 2, 3]);
  close(g.val['accuracy']!.mean, 0.6);
  close(g.val['accuracy']!.std, 0.1);
  assert.is(g.neverReached, 1);
  assert.is(g.reachStep.n, 2);
  close(g.reachStep.mean, 15);
  close(g.reachStep.std, Math.sqrt(50));
  close(g.bestDev.mean, (0.7 + 0.7 + 0.5) / 3);
  assert.equal(
    g.meanDevAcc.map(([s]) => s),
    [10, 20, 30],
  );
  close(g.meanDevAcc[0]![1], (0.5 + 0.7 + 0.4) / 3);
  close(g.meanDevAcc[2]![1], (0.7 + 0.7 + 0.5) / 3);
});

test('majorityRate and the seeded val subsample', () => {
  close(majorityRate([0, 1, 1, 2, 1]), 0.6);
  assert.ok(Number.isNaN(majorityRate([])));
  const xs = Array.from({ length: 100 }, (_, i) => i);
  const a = subsampleVal(xs, 10, 1234),
    b = subsampleVal(xs, 10, 1234);
  assert.equal(a, b); // same subset for every run
  assert.is(new Set(a).size, 10);
  assert.is(subsampleVal(xs, 0, 1), xs);
  assert.is(subsampleVal(xs, 200, 1), xs);
});

test.run();
