import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { linear, tanh } from '../../core/index.ts';
import type { Tensor } from '../../core/index.ts';
import {
  bilinearCritic,
  cosineCritic,
  dotCritic,
  infoNce,
  jsd,
  l2Normalize,
  nwj,
  pairedDot,
  separableCritic,
  type Critic,
} from '../../losses/index.ts';
import { bk, checkAdjoint, close, gradcheck, host, item, randn } from './support.ts';
import { tensor } from '../../core/index.ts';

const runs = { numRuns: 15 };
const dims = fc.record({
  n: fc.integer({ min: 1, max: 4 }),
  m: fc.integer({ min: 1, max: 4 }),
  d: fc.integer({ min: 1, max: 4 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});
type XY = { x: Tensor; y: Tensor };

const hostDot = (x: number[], y: number[], n: number, m: number, d: number): number[] =>
  Array.from({ length: n * m }, (_, k) => {
    const i = Math.floor(k / m),
      j = k % m;
    let s = 0;
    for (let c = 0; c < d; c++) s += x[i * d + c]! * y[j * d + c]!;
    return s;
  });

test('dotCritic: s = ⟨x_i, y_j⟩/√d, shape [N, M]; pairedDot is its diagonal', () => {
  fc.assert(
    fc.property(dims, ({ n, m, d, seed }) => {
      const x = randn(seed, [n, d]),
        y = randn(seed + 1, [m, d]);
      const s = dotCritic()(x, y);
      assert.equal(s.shape, [n, m]);
      const want = hostDot(host(x), host(y), n, m, d).map((v) => v / Math.sqrt(d));
      host(s).forEach((v, k) => assert.ok(close(v, want[k]!, 1e-14)));
      if (n === m) host(pairedDot(x, y)).forEach((v, i) => assert.ok(close(v, want[i * m + i]!, 1e-14)));
    }),
    runs,
  );
});

test('critics: gradients wrt x, y and parameters equal central differences; adjoint identity holds', () => {
  fc.assert(
    fc.property(dims, ({ n, m, d, seed }) => {
      const x = randn(seed, [n, d]),
        y = randn(seed + 1, [m, d]);
      const w = randn(seed + 2, [d, d + 1]);
      const y2 = randn(seed + 3, [m, d + 1]);
      gradcheck(
        (p: XY & { w: Tensor }) => infoNce(bilinearCritic(p.w, 0.5)(p.x, p.y), { positives: undefinedSafe(n, m) }).loss,
        { x, y: y2, w },
      );
      checkAdjoint((p: XY) => dotCritic(0.3)(p.x, p.y), { x, y }, seed);
      checkAdjoint((p: XY) => cosineCritic(0.5)(p.x, p.y), { x, y }, seed + 1);
      checkAdjoint((p: XY & { w: Tensor }) => bilinearCritic(p.w)(p.x, p.y), { x, y: y2, w }, seed + 2);
      const g = { weight: randn(seed + 4, [3, d]), bias: randn(seed + 5, [3]) };
      const sep = (q: typeof g): Critic =>
        separableCritic(
          (t) => tanh(linear(t, q.weight, q.bias)),
          (t) => linear(t, q.weight),
        );
      const y3 = randn(seed + 6, [m + 1, d]); // M ≥ 2: JSD needs negatives
      gradcheck((q: typeof g) => jsd(sep(q)(x, y3), { positives: undefinedSafe(n, m + 1) }).loss, g);
    }),
    runs,
  );
});

/** Positives for any N, M: row i → column i mod M. */
function undefinedSafe(n: number, m: number): Tensor {
  return tensor(
    bk,
    Array.from({ length: n }, (_, i) => i % m),
    { dtype: 'i32' },
  );
}

test('cosineCritic: s = ⟨x, y⟩/(‖x‖‖y‖τ) (norms with eps), |s| ≤ 1/τ, and (eps = 0) invariant to scaling rows', () => {
  fc.assert(
    fc.property(dims, fc.double({ min: 0.1, max: 100, noNaN: true }), ({ n, m, d, seed }, c) => {
      const x = randn(seed, [n, d]),
        y = randn(seed + 1, [m, d]);
      const tau = 0.2,
        eps = 1e-12;
      const hx = host(x),
        hy = host(y);
      const norm = (v: number[], i: number) =>
        Math.sqrt(v.slice(i * d, (i + 1) * d).reduce((a, b) => a + b * b, 0) + eps);
      const want = hostDot(hx, hy, n, m, d).map((v, k) => v / (norm(hx, Math.floor(k / m)) * norm(hy, k % m) * tau));
      const s = host(cosineCritic(tau, eps)(x, y));
      s.forEach((v, k) => assert.ok(close(v, want[k]!, 1e-12)));
      assert.ok(s.every((v) => Math.abs(v) <= 1 / tau + 1e-12));
      const scaled = tensor(
        bk,
        hx.map((v) => v * c),
        { shape: [n, d], dtype: 'f64' },
      );
      const a = host(cosineCritic(tau, 0)(x, y)),
        b = host(cosineCritic(tau, 0)(scaled, y));
      a.forEach((v, k) => assert.ok(close(v, b[k]!, 1e-12), `${v} vs ${b[k]}`));
      host(l2Normalize(x, eps)).forEach((v, k) => assert.ok(close(v, hx[k]! / norm(hx, Math.floor(k / d)), 1e-14)));
    }),
    runs,
  );
});

test('critics plug into every estimator (swap critics and estimators freely)', () => {
  const x = randn(1, [4, 3]),
    y = randn(2, [4, 3]);
  const critics: Critic[] = [
    dotCritic(),
    cosineCritic(0.5),
    bilinearCritic(randn(3, [3, 3])),
    separableCritic(
      (t) => t,
      (t) => t,
    ),
  ];
  for (const critic of critics) {
    const s = critic(x, y);
    for (const est of [infoNce, nwj, jsd]) assert.ok(Number.isFinite(item(est(s).estimate)));
  }
  assert.throws(() => dotCritic()(x, randn(1, [4, 2])), /same d/);
  assert.throws(() => bilinearCritic(randn(1, [2, 3]))(x, y), /W must be \[3, 3\]/);
  assert.throws(() => cosineCritic(0), /temperature/);
});

test.run();
