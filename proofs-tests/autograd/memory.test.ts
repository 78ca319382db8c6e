/** Scoped memory: training-like steps return bk.live() to its baseline; scopes free temporaries and keep results. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  add,
  attention,
  broadcastTo,
  concat,
  cpuBackend,
  crossEntropy,
  dropout,
  exp,
  gather,
  keep,
  layerNorm,
  linear,
  mul,
  prngKey,
  randomNormal,
  reshape,
  scope,
  sub,
  sum,
  tanh,
  tensor,
  treeLeaves,
  treeMap2,
  valueAndGrad,
  vjp,
  type Tensor,
} from '../../core/index.ts';

const bk = cpuBackend();
const key = prngKey(7);
const rn = (shape: number[], seed: number) => randomNormal(bk, prngKey(seed), shape, 0, 0.5, { dtype: 'f64' });

type Params = { prompt: Tensor; head: { w: Tensor; b: Tensor } };

/** A small prompt-tuning-shaped loss: frozen embedding + layerNorm + attention + linear head + CE. */
function makeLoss() {
  const table = rn([10, 4], 1),
    gamma = rn([4], 2),
    beta = rn([4], 3);
  const ids = tensor(
    bk,
    [
      [1, 2, 3],
      [4, 4, 0],
    ],
    { dtype: 'i32' },
  );
  const labels = tensor(bk, [1, -100], { dtype: 'i32' });
  const mask = tensor(bk, [0, 0, 0, 0, 0, -1e9, 0, 0, 0, 0], { shape: [2, 1, 1, 5], dtype: 'f64' });
  const loss = (p: Params, step: number) => {
    const tok = gather(table, ids); // [2, 3, 4]
    const pr = broadcastTo(reshape(p.prompt, [1, 2, 4]), [2, 2, 4]); // soft prompt, m = 2
    const x = layerNorm(concat([pr, tok], 1), gamma, beta, 1e-5); // [2, 5, 4]
    const h = reshape(x, [2, 1, 5, 4]);
    const a = dropout(attention(h, h, h, mask), [key[0], step] as const, 0.1);
    const logits = linear(tanh(reshape(a, [2, 5, 4])), p.head.w, p.head.b); // [2, 5, 3]
    return crossEntropy(sum(logits, 1), labels, { labelSmoothing: 0.1 });
  };
  return { loss };
}

test('20 scoped valueAndGrad steps (with an SGD update) return bk.live() to the baseline', () => {
  const { loss } = makeLoss();
  let params: Params = { prompt: rn([2, 4], 4), head: { w: rn([3, 4], 5), b: rn([3], 6) } };
  const baseline = bk.live();
  const losses: number[] = [];
  for (let step = 0; step < 20; step++) {
    const next = scope(bk, () => {
      const [v, g] = valueAndGrad(loss)(params, step);
      losses.push(v.itemSync());
      return treeMap2(params, g, (p, d) => keep(sub(p, mul(d, 0.5))));
    });
    for (const { leaf } of treeLeaves(params)) leaf.dispose();
    params = next;
    assert.is(bk.live(), baseline, `live storages after step ${step}`);
  }
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses.at(-1)! < losses[0]!, `loss went down: ${losses[0]} → ${losses.at(-1)}`);
});

test('plain scoped steps with no update: the gradients and values do not leak', () => {
  const { loss } = makeLoss();
  const params: Params = { prompt: rn([2, 4], 8), head: { w: rn([3, 4], 9), b: rn([3], 10) } };
  const baseline = bk.live();
  for (let step = 0; step < 20; step++)
    scope(bk, () => {
      valueAndGrad(loss)(params, step)[0].itemSync();
    });
  assert.is(bk.live(), baseline);
  scope(bk, () => {
    const [y, pullback] = vjp((p: Tensor) => exp(tanh(p)), params.prompt);
    pullback(y);
    pullback(y);
  });
  assert.is(bk.live(), baseline, 'vjp trace and both pullbacks freed by the scope');
});

test('scope disposes temporaries, keeps returned tensors (moved to the parent) and keep-ed ones', () => {
  const baseline = bk.live();
  const x = tensor(bk, [1, 2, 3], { dtype: 'f64' });
  let tmp: Tensor | undefined, kept: Tensor | undefined;
  const out = scope(bk, () => {
    tmp = exp(x);
    kept = keep(mul(tmp, 2));
    return { y: add(tmp, 1), n: 3 };
  });
  assert.ok(tmp!.isDisposed, 'temporary disposed');
  assert.not.ok(out.y.isDisposed, 'returned tensor alive');
  assert.not.ok(kept!.isDisposed, 'keep-ed tensor alive');
  assert.is(out.n, 3);
  assert.equal(
    Array.from(out.y.dataSync()),
    [1, 2, 3].map((v) => Math.exp(v) + 1),
  );
  // nested: the inner result moves to the outer scope and dies with it
  let inner: Tensor | undefined;
  scope(bk, () => {
    inner = scope(bk, () => exp(x));
    assert.not.ok(inner.isDisposed);
  });
  assert.ok(inner!.isDisposed, 'moved to the parent, disposed at its end');
  out.y.dispose();
  kept!.dispose();
  x.dispose();
  assert.is(bk.live(), baseline);
});

test.run();
