/**
 * Gradient accumulation (`gradAccum`, `--grad-accum`): on the f64 CPU reference, one step of a batch of 8
 * equals a step of two accumulated micro-batches of 4 holding the same examples (the seeded epoch order
 * is shuffled, then cut, so batch 8's first batch is batch 4's first two), to f64 rounding; counting
 * statistics add up over micro-batches; a run with accumulation resumes bit-identically (stop at 2,
 * resume to 4 ≡ straight 4), micro-batches crossing an epoch boundary included.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { treeLeaves } from '../core/index.ts';
import { readMetricsLog, type MetricRecord } from './log.ts';
import { RUN_FILES, train, type TrainResult } from './loop.ts';
import { mergeConfig, type RunConfig } from './run-config.ts';
import { setupRun } from './run-setup.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'pg-grad-accum-'));

async function run(over: Partial<RunConfig>, out: string, extra: { stopAfter?: number; resume?: boolean } = {}) {
  const c = mergeConfig([
    { model: MODEL, task: 'RTE', steps: 2, evalEvery: 2, maxLength: 32, promptLength: 4, lr: 1e-2, ...over },
  ]);
  if (E.isLeft(c)) throw new Error(c.left.message);
  const { tm, task } = await setupRun(c.right);
  const t = { ...task, train: task.train.slice(0, 16), dev: task.dev.slice(0, 4), test: [] };
  return train(tm, t, { out, stream: null, ...extra });
}

const trainRecords = (dir: string): MetricRecord[] => {
  const r = readMetricsLog(join(dir, RUN_FILES.metrics));
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right.records.filter((x) => x.split === 'train');
};

const leaves = async (r: TrainResult) =>
  Promise.all(treeLeaves(r.best).map(async (l) => ({ path: l.path, values: Array.from(await l.leaf.data()) })));

for (const method of ['soft', 'prefix'] as const)
  test(`${method}: one batch of 8 = two accumulated micro-batches of 4 (cpu f64)`, async () => {
    const base = { method, backend: 'cpu', dtype: 'f64', dropout: false } as const;
    const big = await run({ ...base, batchSize: 8 }, join(tmp, `${method}-b8`));
    const acc = await run({ ...base, batchSize: 4, gradAccum: 2 }, join(tmp, `${method}-b4x2`));
    const [a, b] = [trainRecords(join(tmp, `${method}-b8`)), trainRecords(join(tmp, `${method}-b4x2`))];
    assert.is(a.length, 2);
    for (let i = 0; i < 2; i++) {
      for (const k of ['loss', 'gradNorm'] as const) {
        const [x, y] = [a[i]![k] as number, b[i]![k] as number];
        assert.ok(Math.abs(x - y) <= 1e-12 * Math.max(1, Math.abs(x)), `step ${i + 1} ${k}: ${x} vs ${y}`);
      }
      assert.is(a[i]!.lr, b[i]!.lr, 'the schedule counts optimiser steps');
    }
    const [pa, pb] = [await leaves(big), await leaves(acc)];
    assert.equal(
      pa.map((l) => l.path),
      pb.map((l) => l.path),
    );
    let worst = 0;
    for (let i = 0; i < pa.length; i++)
      for (let j = 0; j < pa[i]!.values.length; j++)
        worst = Math.max(worst, Math.abs(pa[i]!.values[j]! - pb[i]!.values[j]!));
    assert.ok(worst <= 1e-12, `parameters after 2 steps differ by ${worst}`);
    // and accumulation is not a no-op: a step of the first micro-batch alone differs
    const half = await run({ ...base, batchSize: 4 }, join(tmp, `${method}-b4`));
    const ph = await leaves(half);
    assert.ok(
      ph.some((l, i) => l.values.some((v, j) => Math.abs(v - pa[i]!.values[j]!) > 1e-9)),
      'batch 4 alone trains differently',
    );
  });

test('dynamic with accumulation: the position histogram counts every micro-batch', async () => {
  const out = join(tmp, 'dyn');
  await run({ method: 'dynamic', dynamicPosition: 'task', backend: 'cpu', batchSize: 3, gradAccum: 2 }, out);
  for (const r of trainRecords(out)) {
    const hist = String(r['dynPositionHist']).split(' ').map(Number);
    assert.is(
      hist.reduce((x, y) => x + y, 0),
      6,
      'one split per example of both micro-batches',
    );
  }
});

test('resume with accumulation is bit-identical (micro-batches across an epoch boundary)', async () => {
  // 16 examples in batches of 4: four batches an epoch, three per step, so step 2 spans two epochs
  const over = { method: 'soft', backend: 'cpu', batchSize: 4, gradAccum: 3, steps: 4, checkpointEvery: 2 } as const;
  const full = join(tmp, 'full'),
    split = join(tmp, 'split');
  await run(over, full);
  const stopped = await run(over, split, { stopAfter: 2 });
  assert.ok(stopped.interrupted);
  await run(over, split, { resume: true });
  const logged = (dir: string) => trainRecords(dir).map(({ time: _t, ...rest }) => rest);
  assert.equal(logged(split), logged(full));
  const state = (dir: string) => readFileSync(join(dir, RUN_FILES.checkpoint, 'state.safetensors'));
  assert.ok(Buffer.compare(state(split), state(full)) === 0, 'params, optimiser state and data cursor bytes identical');
});

test('config: gradAccum defaults to 1, is a positive integer, and is refused for a multitask run', () => {
  const c = (over: Partial<RunConfig>) => mergeConfig([{ model: MODEL, task: 'RTE', ...over }]);
  const one = c({});
  assert.ok(E.isRight(one) && one.right.gradAccum === 1);
  const mt = c({ task: 'RTE,CB', gradAccum: 2 });
  assert.ok(E.isLeft(mt) && /field "gradAccum": applies to single-task runs/.test(mt.left.message));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
