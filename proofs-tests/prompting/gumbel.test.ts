import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  add,
  broadcastTo,
  cpuBackend,
  div,
  mul,
  prngKey,
  randomNormal,
  scope,
  softmax,
  splitKey,
  sum,
  tanh,
  tensor,
  valueAndGrad,
  vjp,
} from '../../core/index.ts';
import type { Tensor } from '../../core/index.ts';
import { gumbelNoise, gumbelSoftmax, gumbelTemperature } from '../../prompting/gumbel.ts';

const bk = cpuBackend();
const host = (t: Tensor): number[] => Array.from(t.dataSync());
const randn = (seed: number, shape: number[], std = 1) =>
  randomNormal(bk, prngKey(seed), shape, 0, std, { dtype: 'f64' });
const cases = fc.record({
  rows: fc.integer({ min: 1, max: 4 }),
  c: fc.integer({ min: 2, max: 6 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  tau: fc.double({ min: 0.1, max: 3, noNaN: true }),
});
const close = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol * (1 + Math.abs(a) + Math.abs(b));

test('gumbelNoise: finite, seeded, standard Gumbel moments (mean γ ≈ 0.5772, var π²/6)', () => {
  const g = host(gumbelNoise(bk, prngKey(1), [20000], 'f64'));
  assert.equal(g, host(gumbelNoise(bk, prngKey(1), [20000], 'f64')));
  assert.ok(g.every(Number.isFinite));
  const mean = g.reduce((a, b) => a + b, 0) / g.length;
  const v = g.reduce((a, b) => a + (b - mean) ** 2, 0) / g.length;
  assert.ok(Math.abs(mean - 0.5772156649) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(v - Math.PI ** 2 / 6) < 0.1, `var ${v}`);
  assert.ok(host(gumbelNoise(bk, prngKey(2), [1000], 'f32')).every(Number.isFinite));
});

test('soft sample = softmax((logits + g)/τ) with g from the key; rows sum to 1', () => {
  fc.assert(
    fc.property(cases, ({ rows, c, seed, tau }) => {
      const logits = randn(seed, [rows, c], 2),
        key = prngKey(seed + 1);
      const y = gumbelSoftmax(logits, key, tau);
      const want = host(softmax(div(add(logits, gumbelNoise(bk, key, [rows, c], 'f64')), tau), -1));
      host(y).forEach((v, i) => assert.ok(close(v, want[i]!)));
      for (let r = 0; r < rows; r++)
        assert.ok(
          close(
            host(y)
              .slice(r * c, (r + 1) * c)
              .reduce((a, b) => a + b, 0),
            1,
          ),
        );
    }),
    { numRuns: 30 },
  );
});

test("hard forward is exactly one-hot at the soft sample's argmax", () => {
  fc.assert(
    fc.property(cases, ({ rows, c, seed, tau }) => {
      const logits = randn(seed, [rows, c], 2),
        key = prngKey(seed + 1);
      const hard = host(gumbelSoftmax(logits, key, tau, { hard: true }));
      const soft = host(gumbelSoftmax(logits, key, tau));
      for (let r = 0; r < rows; r++) {
        const h = hard.slice(r * c, (r + 1) * c),
          s = soft.slice(r * c, (r + 1) * c);
        assert.ok(h.every((v) => v === 0 || v === 1) && h.filter((v) => v === 1).length === 1, `row ${r}: ${h}`);
        assert.is(h.indexOf(1), s.indexOf(Math.max(...s)));
      }
    }),
    { numRuns: 30 },
  );
});

test("straight-through backward equals the soft relaxation's gradient exactly (same key)", () => {
  fc.assert(
    fc.property(cases, ({ rows, c, seed, tau }) => {
      const logits = randn(seed, [rows, c], 2),
        key = prngKey(seed + 1);
      const w = randn(seed + 2, [rows, c]);
      scope(bk, () => {
        // a linear read-out: the cotangent is w either way, so the two gradients are identical
        const lin = (hard: boolean) => (l: Tensor) => sum(mul(gumbelSoftmax(l, key, tau, { hard }), w));
        assert.equal(host(valueAndGrad(lin(true))(logits)[1]), host(valueAndGrad(lin(false))(logits)[1]));
        // a nonlinear read-out g: ST gradient = J_softᵀ · ∇g(y_hard)
        const g = (y: Tensor) => sum(tanh(mul(add(y, 0.3), w)));
        const [, gST] = valueAndGrad((l: Tensor) => g(gumbelSoftmax(l, key, tau, { hard: true })))(logits);
        const yHard = gumbelSoftmax(logits, key, tau, { hard: true });
        const [, dg] = valueAndGrad(g)(yHard);
        const [, pullback] = vjp((l: Tensor) => gumbelSoftmax(l, key, tau), logits);
        assert.equal(host(gST), host(pullback(dg)));
      });
    }),
    { numRuns: 30 },
  );
});

test('soft sample: gradient equals central differences (f64), adjoint identity', () => {
  fc.assert(
    fc.property(cases, ({ rows, c, seed, tau }) => {
      const logits = randn(seed, [rows, c], 2),
        key = prngKey(seed + 1);
      const ct = randn(seed + 3, [rows, c]),
        t = randn(seed + 4, [rows, c]);
      const f = (l: Tensor) => gumbelSoftmax(l, key, tau);
      const eps = 1e-6;
      const minus = host(f(add(logits, mul(t, -eps))));
      const fd = host(f(add(logits, mul(t, eps)))).map((v, i) => (v - minus[i]!) / (2 * eps));
      const lhs = fd.reduce((s, v, i) => s + v * host(ct)[i]!, 0);
      const [, pullback] = vjp(f, logits);
      const rhs = host(pullback(ct)).reduce((s, v, i) => s + v * host(t)[i]!, 0);
      assert.ok(close(lhs, rhs, 1e-7), `${lhs} vs ${rhs}`);
    }),
    { numRuns: 30 },
  );
});

test('argmax of the hard sample is distributed as softmax(logits) (Gumbel-max; chi-square over 3 keys × 4000 rows)', () => {
  const probs = [0.5, 0.25, 0.15, 0.1];
  const logits = tensor(bk, probs.map(Math.log), { dtype: 'f64' });
  const counts = [0, 0, 0, 0];
  for (const key of splitKey(prngKey(7), 3)) {
    const y = host(gumbelSoftmax(broadcastTo(logits, [4000, 4]), key, 0.7, { hard: true }));
    for (let r = 0; r < 4000; r++) counts[y.slice(r * 4, r * 4 + 4).indexOf(1)]!++;
  }
  const n = 12000;
  const chi2 = counts.reduce((s, k, i) => s + (k - n * probs[i]!) ** 2 / (n * probs[i]!), 0);
  assert.ok(chi2 < 16.27, `χ² ${chi2} (df 3, p = 0.001 threshold 16.27); counts ${counts}`);
});

test('gumbelTemperature: closed form of τ ← max(τ·e^{−r·t/10}, 0.5) applied every 10 steps', () => {
  assert.is(gumbelTemperature(0), 1);
  assert.is(gumbelTemperature(9), 1);
  assert.ok(close(gumbelTemperature(10), Math.exp(-3e-5), 1e-15));
  assert.ok(close(gumbelTemperature(25), Math.exp(-3e-5 * 3), 1e-15));
  // the loop the code runs, step by step
  let tau = 1;
  for (let t = 1; t <= 5000; t++) {
    if (t % 10 === 0) tau = Math.max(tau * Math.exp((-3e-5 * t) / 10), 0.5);
    assert.ok(close(gumbelTemperature(t), tau, 1e-12), `step ${t}: ${gumbelTemperature(t)} vs ${tau}`);
  }
  assert.ok(gumbelTemperature(2149) > 0.5);
  assert.is(gumbelTemperature(2150), 0.5);
  assert.is(gumbelTemperature(1e6), 0.5);
  assert.ok(close(gumbelTemperature(3, { every: 1, rate: 0.1, start: 2, min: 0 }), 2 * Math.exp(-0.1 * 6), 1e-15));
  assert.throws(() => gumbelTemperature(-1), /step/);
  assert.throws(() => gumbelTemperature(1.5), /step/);
  assert.throws(() => gumbelSoftmax(randn(1, [3]), prngKey(1), 0), /tau/);
});

test('f32: logits of ±1e4 give a finite sample and finite straight-through gradients', () => {
  const logits = tensor(
    bk,
    [
      [1e4, -1e4, 0],
      [-1e4, -1e4, 1e4],
    ],
    { dtype: 'f32' },
  );
  const [v, g] = valueAndGrad((l: Tensor) =>
    sum(
      mul(
        gumbelSoftmax(l, prngKey(3), 0.5, { hard: true }),
        tensor(
          bk,
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          { dtype: 'f32' },
        ),
      ),
    ),
  )(logits);
  assert.ok(Number.isFinite(v.itemSync()) && host(g).every(Number.isFinite));
  assert.equal(host(gumbelSoftmax(logits, prngKey(3), 0.5, { hard: true })), [1, 0, 0, 0, 0, 1]);
});

test.run();
