// The Jensen–Shannon estimator (Deep InfoMax) and the stable softplus it rests on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { sigmoid, sum, tensor, valueAndGrad } from '../../core/index.ts';
import type { Tensor } from '../../core/index.ts';
import { jsd, jsdFromSamples, softplus } from '../../losses/index.ts';
import {
  bk,
  checkAdjoint,
  close,
  gradcheck,
  host,
  i32,
  item,
  JS_BOUND,
  p,
  q,
  randn,
  samples,
  table4,
} from './support.ts';

const runs = { numRuns: 20 };
const dims = fc.record({
  n: fc.integer({ min: 1, max: 4 }),
  extra: fc.integer({ min: 1, max: 3 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});
type PQ = { joint: Tensor; marginal: Tensor };

test('JSD: gradients equal central differences (matrix and samples forms)', () => {
  fc.assert(
    fc.property(dims, ({ n, extra, seed }) => {
      const m = n + extra;
      const s = randn(seed, [n, m], 1.5);
      gradcheck((x: Tensor) => jsd(x).loss, s);
      gradcheck(
        (x: Tensor) => jsd(x, { positives: i32(Array.from({ length: n }, (_, i) => (i + seed) % m)) }).estimate,
        s,
      );
      const pq = { joint: randn(seed + 1, [n, 2]), marginal: randn(seed + 2, [m, 3]) };
      gradcheck((x: PQ) => jsdFromSamples(x.joint, x.marginal).loss, pq);
    }),
    runs,
  );
});

test('JSD: matrix form equals the samples form on the diagonal / off-diagonal split', () => {
  const s = randn(4, [3, 3], 2);
  const v = host(s);
  const joint = tensor(bk, [v[0]!, v[4]!, v[8]!], { dtype: 'f64' });
  const marginal = tensor(
    bk,
    [1, 2, 3, 5, 6, 7].map((i) => v[i]!),
    { dtype: 'f64' },
  );
  assert.ok(close(item(jsd(s).estimate), item(jsdFromSamples(joint, marginal).estimate), 1e-14));
});

test('f32: scores of ±1e4 keep the JSD estimator and its gradient finite', () => {
  const s = tensor(
    bk,
    [
      [1e4, -1e4, 1e4],
      [-1e4, 1e4, -1e4],
      [1e4, 1e4, -1e4],
    ],
    { dtype: 'f32' },
  );
  const [v, g] = valueAndGrad((t: Tensor) => jsd(t).loss)(s);
  assert.ok(Number.isFinite(item(v)) && host(g).every(Number.isFinite));
  assert.ok(close(item(v), 1e4 / 3 + 1e4 / 2, 1e-6), `value ${item(v)}`); // −E_P[−sp(−T)] + E_Q[sp(T)]
});

test('softplus: stable, gradient σ(x) everywhere including 0 (adjoint identity too)', () => {
  const x = tensor(bk, [-30, -2, 0, 1e-3, 3, 40], { dtype: 'f64' });
  const want = host(x).map((v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))));
  host(softplus(x)).forEach((v, i) => assert.ok(close(v, want[i]!, 1e-15)));
  const [, g] = valueAndGrad((t: Tensor) => sum(softplus(t)))(x);
  host(g).forEach((v, i) => assert.ok(close(v, host(sigmoid(x))[i]!, 1e-15), `σ at ${host(x)[i]}`));
  checkAdjoint(softplus, randn(5, [7], 3), 9);
  const big = softplus(tensor(bk, [1e4, -1e4], { dtype: 'f32' }));
  assert.equal(host(big), [1e4, 0]);
});

test('JSD estimator ≤ 2·JSD(P‖Q) − log 4 ≤ 0, with equality at T* = log p/q', () => {
  const opt = samples(p.map((pi, i) => Math.log(pi / q[i]!)));
  assert.ok(close(item(jsdFromSamples(opt.joint, opt.marginal).estimate), JS_BOUND, 1e-12));
  assert.ok(JS_BOUND < 0);
  fc.assert(
    fc.property(table4, (t) => {
      const s = samples(t);
      return item(jsdFromSamples(s.joint, s.marginal).estimate) <= JS_BOUND + 1e-12;
    }),
    { numRuns: 100 },
  );
});

test.run();
