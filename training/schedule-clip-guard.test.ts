import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isRight } from 'fp-ts/lib/Either.js';
import { cpuBackend, scalar, tensor, treeLeaves } from '../core/index.ts';
import { clipByGlobalNorm, globalNorm } from './clip.ts';
import { assertFinite, NonFiniteError } from './nan-guard.ts';
import { lrAt, ScheduleCodec, validateSchedule, type Schedule } from './schedule.ts';

const close = (a: number, b: number, msg: string) =>
  assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${msg}: ${a} vs ${b}`);

test('linear warm-up then linear decay (HF get_linear_schedule_with_warmup)', () => {
  const s: Schedule = { kind: 'linear', baseLr: 2, warmupSteps: 10, totalSteps: 100 };
  const want: [number, number][] = [
    [0, 0],
    [1, 0.2],
    [5, 1],
    [10, 2],
    [55, 1],
    [99, 2 / 90],
    [100, 0],
    [150, 0],
  ];
  for (const [k, v] of want) close(lrAt(s, k), v, `step ${k}`);
});

test('cosine decay (HF get_cosine_schedule_with_warmup, num_cycles 0.5)', () => {
  const s: Schedule = { kind: 'cosine', baseLr: 1, warmupSteps: 10, totalSteps: 100 };
  close(lrAt(s, 5), 0.5, 'warm-up');
  close(lrAt(s, 10), 1, 'peak');
  close(lrAt(s, 40), 0.75, 'a third of the way');
  close(lrAt(s, 55), 0.5, 'half way');
  close(lrAt(s, 100), 0, 'end');
  close(lrAt({ ...s, numCycles: 1 }, 100), 1, 'a full wave comes back up');
  close(lrAt({ ...s, warmupSteps: 0 }, 0), 1, 'no warm-up');
});

test('constant and constant-with-warm-up; validation; JSON codec', () => {
  close(lrAt({ kind: 'constant', baseLr: 0.3, warmupSteps: 5, totalSteps: 0 }, 0), 0.3, 'constant ignores warm-up');
  close(lrAt({ kind: 'constant-warmup', baseLr: 0.3, warmupSteps: 4, totalSteps: 0 }, 1), 0.075, 'warming');
  close(lrAt({ kind: 'constant-warmup', baseLr: 0.3, warmupSteps: 4, totalSteps: 0 }, 400), 0.3, 'after');
  assert.throws(
    () => validateSchedule({ kind: 'linear', baseLr: 1, warmupSteps: 20, totalSteps: 10 }),
    /warmupSteps 20 exceeds totalSteps 10/,
  );
  assert.throws(() => lrAt({ kind: 'constant', baseLr: 1, warmupSteps: 0, totalSteps: 0 }, -1), /step/);
  assert.ok(isRight(ScheduleCodec.decode({ kind: 'cosine', baseLr: 0.3, warmupSteps: 0, totalSteps: 9 })));
  assert.not.ok(isRight(ScheduleCodec.decode({ kind: 'cosine-restarts', baseLr: 0.3, warmupSteps: 0, totalSteps: 9 })));
});

const bk = cpuBackend();
const f64 = (xs: number[]) => tensor(bk, Float64Array.from(xs), { dtype: 'f64' });

test('clipByGlobalNorm: torch clip_grad_norm_ semantics, pre-clip norm returned', () => {
  const grads = { a: f64([3, 4]), b: { c: f64([12]) } };
  assert.is(globalNorm(grads).itemSync(), 13);
  const { grads: g, norm } = clipByGlobalNorm(grads, 6.5);
  assert.is(norm.itemSync(), 13);
  const coef = 6.5 / (13 + 1e-6);
  assert.equal(Array.from(g.a.dataSync()), [3 * coef, 4 * coef]);
  assert.equal(Array.from(g.b.c.dataSync()), [12 * coef]);
  const un = clipByGlobalNorm(grads, 100);
  assert.equal(
    treeLeaves(un.grads).map((l) => Array.from(l.leaf.dataSync())),
    [[3, 4], [12]],
    'below the limit: unchanged',
  );
  assert.throws(() => clipByGlobalNorm(grads, 0), /maxNorm/);
});

test('clip: mixed f32/f64 leaves keep their dtypes; norm in f64', () => {
  const grads = { a: tensor(bk, [6, 8], { dtype: 'f32' }), b: f64([0]) };
  const { grads: g, norm } = clipByGlobalNorm(grads, 5);
  assert.is(norm.dtype, 'f64');
  assert.is(g.a.dtype, 'f32');
  assert.ok(Math.abs(g.a.dataSync()[0]! - 3) < 1e-6);
});

test('nan guard names the step, the tensor path and the method', async () => {
  const ok = { w: f64([1, 2]), b: f64([3]) };
  await assertFinite({ method: 'prompt-tuning', step: 3, loss: scalar(bk, 0.5), grads: ok });
  const bad = { w: f64([1, 2]), layer: [f64([0]), f64([1, Infinity, NaN])] };
  try {
    await assertFinite({ method: 'p-tuning-v2', step: 17, loss: scalar(bk, 0.5), grads: bad });
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, NonFiniteError);
    const err = e as NonFiniteError;
    assert.is(err.path, 'grads.layer.1');
    assert.match(err.message, /p-tuning-v2: non-finite grads\.layer\.1 at step 17/);
    assert.match(err.message, /1 NaN, 1 Inf of 3; first at flat index 1/);
  }
  await assertFinite({ method: 'm', step: 2, loss: scalar(bk, NaN), grads: ok }).then(
    () => assert.unreachable('should reject'),
    (e: unknown) => assert.match(String(e), /m: non-finite loss at step 2/),
  );
});

test.run();
