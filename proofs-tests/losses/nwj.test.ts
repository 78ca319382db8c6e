// NWJ (MINE-f) and DV (MINE): gradients, exact bounds on a discrete pair, the optimal critic on
// correlated Gaussians (InfoNCE alongside), clipping, and f32 stability.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { normalArray, prngKey, ShapeError, tensor, valueAndGrad } from '../../core/index.ts';
import type { Tensor } from '../../core/index.ts';
import { infoNce, jsd, mineDv, mineDvFromSamples, nwj, nwjFromSamples } from '../../losses/index.ts';
import { bk, close, gradcheck, host, i32, item, KL, p, q, randn, samples, table4 } from './support.ts';

const runs = { numRuns: 20 };
const dims = fc.record({
  n: fc.integer({ min: 1, max: 4 }),
  extra: fc.integer({ min: 1, max: 3 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});
type PQ = { joint: Tensor; marginal: Tensor };

test('NWJ, DV: gradients equal central differences (matrix and samples forms)', () => {
  fc.assert(
    fc.property(dims, ({ n, extra, seed }) => {
      const m = n + extra;
      const s = randn(seed, [n, m], 1.5);
      const pos = i32(Array.from({ length: n }, (_, i) => (i + seed) % m));
      for (const est of [nwj, mineDv]) {
        gradcheck((x: Tensor) => est(x).loss, s);
        gradcheck((x: Tensor) => est(x, { positives: pos }).estimate, s);
      }
      const pq = { joint: randn(seed + 1, [n, 2]), marginal: randn(seed + 2, [m, 3]) };
      for (const est of [nwjFromSamples, mineDvFromSamples]) gradcheck((p: PQ) => est(p.joint, p.marginal).loss, pq);
    }),
    runs,
  );
});

test('NWJ ≤ KL(P‖Q) for any critic, with equality at T* = 1 + log p/q', () => {
  const opt = samples(p.map((pi, i) => 1 + Math.log(pi / q[i]!)));
  assert.ok(close(item(nwjFromSamples(opt.joint, opt.marginal).estimate), KL, 1e-12));
  fc.assert(
    fc.property(table4, (t) => {
      const s = samples(t);
      return item(nwjFromSamples(s.joint, s.marginal).estimate) <= KL + 1e-12;
    }),
    { numRuns: 100 },
  );
});

test('DV ≤ KL with equality at T* = log p/q + c, and DV ≥ NWJ for the same critic', () => {
  const c = 0.7;
  const opt = samples(p.map((pi, i) => Math.log(pi / q[i]!) + c));
  assert.ok(close(item(mineDvFromSamples(opt.joint, opt.marginal).estimate), KL, 1e-12));
  fc.assert(
    fc.property(table4, (t) => {
      const s = samples(t);
      const dv = item(mineDvFromSamples(s.joint, s.marginal).estimate);
      return dv <= KL + 1e-12 && dv >= item(nwjFromSamples(s.joint, s.marginal).estimate) - 1e-12;
    }),
    { numRuns: 100 },
  );
});

test('matrix form: the optimal critic on correlated Gaussians recovers I = −½·log(1−ρ²)', () => {
  const n = 256,
    rho = 0.5,
    mi = -0.5 * Math.log(1 - rho * rho);
  const x = normalArray(prngKey(21), n),
    e = normalArray(prngKey(22), n);
  const y = x.map((v, i) => rho * v + Math.sqrt(1 - rho * rho) * e[i]!);
  // log p(y_j | x_i) − log p(y_j)
  const logRatio = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const r = y[j]! - rho * x[i]!;
      logRatio[i * n + j] = -(r * r) / (2 * (1 - rho * rho)) - 0.5 * Math.log(1 - rho * rho) + (y[j]! * y[j]!) / 2;
    }
  const s = tensor(bk, logRatio, { shape: [n, n], dtype: 'f64' });
  const s1 = tensor(
    bk,
    logRatio.map((v) => v + 1),
    { shape: [n, n], dtype: 'f64' },
  );
  const got = { nwj: item(nwj(s1).estimate), dv: item(mineDv(s).estimate), nce: item(infoNce(s).estimate) };
  for (const [name, v] of Object.entries(got)) assert.ok(Math.abs(v - mi) < 0.08, `${name} ${v} vs I ${mi}`);
  // a worse critic (halved log-ratio) scores lower under every estimator
  const half = tensor(
    bk,
    logRatio.map((v) => v / 2),
    { shape: [n, n], dtype: 'f64' },
  );
  assert.ok(item(mineDv(half).estimate) < got.dv);
  assert.ok(item(infoNce(half).estimate) < got.nce);
});

test('NWJ clip: marginal scores above the cap contribute the cap and zero gradient', () => {
  const s = tensor(
    bk,
    [
      [0.5, 3],
      [-1, 0.2],
    ],
    { dtype: 'f64' },
  );
  const [v, g] = valueAndGrad((t: Tensor) => nwj(t, { clip: 2 }).loss)(s);
  const want = -((0.5 + 0.2) / 2 - (Math.exp(2 - 1) + Math.exp(-1 - 1)) / 2);
  assert.ok(close(item(v), want, 1e-12));
  assert.is(host(g)[1], 0);
  gradcheck((t: Tensor) => nwj(t, { clip: 2 }).loss, s);
});

test('f32: scores of ±1e4 keep DV finite (and NWJ when capped or when the negatives are low)', () => {
  const s = tensor(
    bk,
    [
      [1e4, -1e4, 1e4],
      [-1e4, 1e4, -1e4],
      [1e4, 1e4, -1e4],
    ],
    { dtype: 'f32' },
  );
  for (const [name, f] of [
    ['dv', (t: Tensor) => mineDv(t).loss],
    ['nwj clip', (t: Tensor) => nwj(t, { clip: 20 }).loss],
  ] as const) {
    const [v, g] = valueAndGrad(f)(s);
    assert.ok(Number.isFinite(item(v)) && host(g).every(Number.isFinite), name);
  }
  const low = tensor(
    bk,
    [
      [1e4, -1e4],
      [-1e4, 1e4],
    ],
    { dtype: 'f32' },
  );
  assert.ok(Number.isFinite(item(nwj(low).loss)));
});

test('no negatives (scores [N, 1]) or no samples: NWJ, DV and JSD all throw a ShapeError, none returns NaN', () => {
  const one = randn(3, [1, 1]);
  for (const [name, f] of [
    ['nwj', () => nwj(one)],
    ['mineDv', () => mineDv(one)],
    ['jsd', () => jsd(one)],
  ] as const)
    assert.throws(f, (e: unknown) => e instanceof ShapeError && /no negatives/.test(e.message), name);
  const empty = tensor(bk, new Float64Array(0), { shape: [0], dtype: 'f64' });
  assert.throws(
    () => mineDvFromSamples(randn(4, [3]), empty),
    (e: unknown) => e instanceof ShapeError,
  );
  assert.throws(
    () => nwjFromSamples(empty, randn(4, [3])),
    (e: unknown) => e instanceof ShapeError,
  );
});

test.run();
