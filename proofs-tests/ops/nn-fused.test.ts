/** softmax / logSoftmax along random axes, logSumExp, layerNorm (grads to x, weight, bias) with closed-form references. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  add,
  cpuBackend,
  div,
  exp,
  layerNorm,
  log,
  logSoftmax,
  logSumExp,
  max,
  mean,
  mul,
  scope,
  softmax,
  sqrt,
  sub,
  sum,
  tensor,
  valueAndGrad,
  type Tensor,
} from '../../core/index.ts';
import { axisArb, forAll, seedArb, shapeArb, toTensor, valuesArb } from '../support/arbitraries.ts';
import { expectClose } from '../support/close.ts';
import { checkVjp } from '../support/gradcheck.ts';

const bk = cpuBackend();
const TIGHT = { atol: 1e-12, rtol: 1e-12 };
const withAxis = shapeArb({ minRank: 1 }).chain((sh) =>
  fc.tuple(valuesArb(sh, { low: -5, high: 5 }), axisArb(sh.length), seedArb),
);

/** Closed form along `axis`, built from other primitives (max-subtracted). */
const softmaxRef = (x: Tensor, axis: number) => {
  const e = exp(sub(x, max(x, axis, true)));
  return div(e, sum(e, axis, true));
};

test('vjp: softmax along a random axis', () => {
  forAll(bk, withAxis, ([s, axis, seed]) =>
    checkVjp(([x]) => softmax(x, axis), [toTensor(bk, s)], { seed, label: `softmax axis ${axis}` }),
  );
});

test('vjp: logSoftmax along a random axis', () => {
  forAll(bk, withAxis, ([s, axis, seed]) =>
    checkVjp(([x]) => logSoftmax(x, axis), [toTensor(bk, s)], { seed, label: `logSoftmax axis ${axis}` }),
  );
});

test('vjp: logSumExp along a random axis (keepdims both)', () => {
  forAll(bk, fc.tuple(withAxis, fc.boolean()), ([[s, axis, seed], keep]) =>
    checkVjp(([x]) => logSumExp(x, axis, keep), [toTensor(bk, s)], {
      seed,
      label: `logSumExp axis ${axis} keepdims ${keep}`,
    }),
  );
});

test('forward: softmax sums to 1, equals exp(x−max)/Σ, and log-softmax = log(softmax); logSumExp matches', () => {
  forAll(bk, withAxis, ([s, axis]) => {
    const x = toTensor(bk, s);
    const p = softmax(x, axis);
    expectClose(
      sum(p, axis),
      new Float64Array(s.values.length / s.shape.at(axis)!).fill(1),
      { atol: 1e-14, rtol: 0 },
      'Σ softmax',
    );
    expectClose(p, softmaxRef(x, axis), TIGHT, 'softmax');
    expectClose(logSoftmax(x, axis), log(softmaxRef(x, axis)), TIGHT, 'logSoftmax');
    expectClose(logSumExp(x, axis), log(sum(exp(x), axis)), TIGHT, 'logSumExp');
  });
});

test('softmax / logSumExp are stable for large logits and handle -Infinity (masked) entries', () => {
  scope(bk, () => {
    const x = tensor(
      bk,
      [
        [1000, 1001, -Infinity],
        [-Infinity, -Infinity, -Infinity],
      ],
      { dtype: 'f64' },
    );
    const e = Math.exp(-1);
    expectClose(
      softmax(x),
      [e / (1 + e), 1 / (1 + e), 0, NaN, NaN, NaN],
      { atol: 1e-15, rtol: 1e-15 },
      'softmax (fully masked row: NaN, as torch)',
    );
    expectClose(logSumExp(x), [1001 + Math.log1p(e), -Infinity], { atol: 1e-12, rtol: 0 }, 'logSumExp');
    // torch.logsumexp: an infinite maximum gives ±inf, not NaN
    expectClose(
      logSumExp(
        tensor(
          bk,
          [
            [Infinity, 1],
            [Infinity, -Infinity],
          ],
          { dtype: 'f64' },
        ),
      ),
      [Infinity, Infinity],
      { atol: 0, rtol: 0 },
      'logSumExp(+inf)',
    );
    const [, g] = valueAndGrad((p: Tensor) => logSumExp(p, -1))(tensor(bk, [[2000, 2000]], { dtype: 'f64' }));
    expectClose(g, [0.5, 0.5], { atol: 1e-15, rtol: 0 }, 'd logSumExp (max detached: gradient unchanged)');
  });
});

const lnArb = shapeArb({ minRank: 1, maxSize: 64 })
  .filter((sh) => sh.at(-1)! >= 2)
  .chain((sh) =>
    fc.tuple(
      valuesArb(sh, { distinct: true }),
      valuesArb([sh.at(-1)!], { low: 0.5, high: 2 }),
      valuesArb([sh.at(-1)!]),
      fc.constantFrom(1e-12, 1e-5),
      seedArb,
    ),
  );

test('vjp: layerNorm, gradients to x, weight and bias', () => {
  forAll(bk, lnArb, ([x, w, b, eps, seed]) =>
    checkVjp(([tx, tw, tb]) => layerNorm(tx, tw, tb, eps), [toTensor(bk, x), toTensor(bk, w), toTensor(bk, b)], {
      seed,
      label: `layerNorm eps ${eps}`,
    }),
  );
});

/** (x − μ)/√(σ² + eps)·w + b with the biased variance, from primitives. */
function layerNormRef(x: Tensor, w: Tensor, b: Tensor, eps: number): Tensor {
  const mu = mean(x, -1, true),
    d = sub(x, mu);
  return add(mul(div(d, sqrt(add(mean(mul(d, d), -1, true), eps))), w), b);
}

test('forward and gradients: fused layerNorm equals the direct formula built from primitives', () => {
  forAll(bk, lnArb, ([xs, ws, bs, eps]) => {
    const p = { x: toTensor(bk, xs), w: toTensor(bk, ws), b: toTensor(bk, bs) };
    const c = toTensor(bk, { shape: xs.shape, values: xs.values.map((v, i) => Math.cos(3 * i + v)) });
    expectClose(layerNorm(p.x, p.w, p.b, eps), layerNormRef(p.x, p.w, p.b, eps), TIGHT, 'layerNorm forward');
    type P = typeof p;
    const [, gf] = valueAndGrad((q: P) => sum(mul(layerNorm(q.x, q.w, q.b, eps), c)))(p);
    const [, gr] = valueAndGrad((q: P) => sum(mul(layerNormRef(q.x, q.w, q.b, eps), c)))(p);
    for (const k of ['x', 'w', 'b'] as const) expectClose(gf[k], gr[k], { atol: 1e-10, rtol: 1e-10 }, `d${k}`);
  });
});

test('layerNorm rows are normalised; shape errors name the op', () => {
  scope(bk, () => {
    const x = tensor(
      bk,
      [
        [1, 2, 3, 4],
        [10, 10, 10, 14],
      ],
      { dtype: 'f64' },
    );
    const ones = tensor(bk, [1, 1, 1, 1], { dtype: 'f64' }),
      zeros = tensor(bk, [0, 0, 0, 0], { dtype: 'f64' });
    const y = layerNorm(x, ones, zeros, 0);
    expectClose(mean(y, -1), [0, 0], { atol: 1e-15, rtol: 0 }, 'row mean');
    expectClose(mean(mul(y, y), -1), [1, 1], { atol: 1e-14, rtol: 0 }, 'row variance');
    assert.throws(
      () => layerNorm(x, tensor(bk, [1, 1, 1], { dtype: 'f64' }), zeros),
      /layerNorm: x \[2, 4\] needs weight and bias \[4\], got \[3\] and \[4\]/,
    );
  });
});

test.run();
