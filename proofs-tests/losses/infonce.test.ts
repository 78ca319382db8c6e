import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { add, arange, crossEntropy, mul, reshape, tensor, where, equal } from '../../core/index.ts';
import type { Tensor } from '../../core/index.ts';
import { infoNce, infoNceOneVsMany, infoNcePerExample } from '../../losses/index.ts';
import { bk, checkAdjoint, close, gradcheck, host, i32, item, randn } from './support.ts';

const dims = fc.record({
  n: fc.integer({ min: 1, max: 5 }),
  extra: fc.integer({ min: 0, max: 3 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});
const runs = { numRuns: 25 };
const f64 = (rows: number[][]): Tensor => tensor(bk, rows, { dtype: 'f64' });

test('infoNce: loss equals cross-entropy with labels 0..N-1; estimate = log M − loss', () => {
  const s = randn(1, [4, 6], 3);
  const { loss, estimate } = infoNce(s);
  const ce = crossEntropy(s, arange(bk, 0, 4));
  assert.ok(close(item(loss), item(ce), 1e-12));
  assert.ok(close(item(estimate), Math.log(6) - item(loss), 1e-12));
});

test('infoNce: gradient equals central differences (diagonal and explicit positives, τ)', () => {
  fc.assert(
    fc.property(dims, ({ n, extra, seed }) => {
      const m = n + extra;
      const s = randn(seed, [n, m], 2);
      gradcheck((x: Tensor) => infoNce(x).loss, s);
      const pos = i32(Array.from({ length: n }, (_, i) => (i * 7 + seed) % m));
      gradcheck((x: Tensor) => infoNce(x, { positives: pos, temperature: 0.7 }).estimate, s);
    }),
    runs,
  );
});

test('infoNcePerExample: adjoint identity ⟨J·t, c⟩ = ⟨t, Jᵀ·c⟩', () => {
  fc.assert(
    fc.property(dims, ({ n, extra, seed }) => {
      checkAdjoint((x: Tensor) => infoNcePerExample(x), randn(seed, [n, n + extra], 2), seed + 1);
    }),
    runs,
  );
});

test('infoNce: estimate ≤ log M for random scores', () => {
  fc.assert(
    fc.property(dims, fc.double({ min: 0.01, max: 100, noNaN: true }), ({ n, extra, seed }, std) => {
      const m = n + extra;
      return item(infoNce(randn(seed, [n, m], std)).estimate) <= Math.log(m) + 1e-12;
    }),
    runs,
  );
});

test('infoNce: invariant to permuting the negatives of each row', () => {
  fc.assert(
    fc.property(dims, ({ n, extra, seed }) => {
      const m = n + extra;
      const s = host(randn(seed, [n, m], 2));
      // each row: keep the diagonal, reverse-rotate the other columns by a row-dependent amount
      const perm = Array.from({ length: n }, (_, i) => {
        const others = Array.from({ length: m }, (_, j) => j).filter((j) => j !== i);
        const r = (seed + i) % Math.max(1, others.length);
        return [...others.slice(r), ...others.slice(0, r)].reverse();
      });
      const t = Array.from({ length: n }, (_, i) => {
        const row = new Array<number>(m);
        const others = Array.from({ length: m }, (_, j) => j).filter((j) => j !== i);
        row[i] = s[i * m + i]!;
        others.forEach((j, k) => {
          row[j] = s[i * m + perm[i]![k]!]!;
        });
        return row;
      });
      const a = item(infoNce(tensor(bk, s, { shape: [n, m], dtype: 'f64' })).loss);
      const b = item(infoNce(f64(t)).loss);
      return close(a, b, 1e-12);
    }),
    runs,
  );
});

test('infoNce: adding a constant to a whole row changes nothing', () => {
  fc.assert(
    fc.property(dims, fc.double({ min: -1e3, max: 1e3, noNaN: true }), ({ n, extra, seed }, c) => {
      const m = n + extra;
      const s = randn(seed, [n, m], 2);
      const shift = reshape(mul(randn(seed + 7, [n]), c), [n, 1]);
      return close(item(infoNce(s).loss), item(infoNce(add(s, shift)).loss), 1e-9);
    }),
    runs,
  );
});

test('infoNce: perfectly separated scores drive the loss to 0 and the estimate to log M', () => {
  const n = 5;
  const s = randn(3, [n, n]);
  const diag = equal(reshape(arange(bk, 0, n), [n, 1]), reshape(arange(bk, 0, n), [1, n]));
  let last = Infinity;
  for (const scale of [1, 10, 100, 1000]) {
    const { loss, estimate } = infoNce(where(diag, scale, s));
    assert.ok(item(loss) < last || item(loss) === 0, `loss falls with the margin (${item(loss)} after ${last})`);
    last = item(loss);
    if (scale === 1000) {
      assert.ok(item(loss) < 1e-12, `loss ${item(loss)}`);
      assert.ok(close(item(estimate), Math.log(n), 1e-12));
    }
  }
});

test('infoNceOneVsMany: equals infoNce on [pos | neg] with positives in column 0; gradients check', () => {
  fc.assert(
    fc.property(dims, ({ n, extra, seed }) => {
      const k = extra + 1;
      const pos = randn(seed, [n], 2),
        neg = randn(seed + 1, [n, k], 2);
      const a = infoNceOneVsMany(pos, neg);
      const rows = host(pos).map((p, i) => [p, ...host(neg).slice(i * k, (i + 1) * k)]);
      const b = infoNce(f64(rows), { positives: i32(new Array(n).fill(0)) });
      assert.ok(close(item(a.loss), item(b.loss), 1e-12));
      assert.ok(close(item(a.estimate), Math.log(k + 1) - item(a.loss), 1e-12));
      gradcheck((p: { pos: Tensor; neg: Tensor }) => infoNceOneVsMany(p.pos, p.neg).loss, { pos, neg });
      gradcheck((p: { pos: Tensor; neg: Tensor }) => infoNceOneVsMany(p.pos, p.neg, { temperature: 0.5 }).loss, {
        pos,
        neg,
      });
    }),
    runs,
  );
});

test('infoNceOneVsMany: a mask removes negatives exactly (value and gradient), shared [1, K] negatives broadcast', () => {
  const pos = randn(11, [3], 2),
    negs = randn(12, [1, 5], 2);
  const mask = i32([1, 0, 1, 1, 0]);
  const masked = infoNceOneVsMany(pos, negs, { mask: reshape(mask, [1, 5]) });
  const kept = tensor(
    bk,
    [0, 2, 3].map((j) => host(negs)[j]!),
    { shape: [1, 3], dtype: 'f64' },
  );
  const direct = infoNceOneVsMany(pos, kept);
  assert.ok(close(item(masked.loss), item(direct.loss), 1e-12));
  assert.ok(close(item(masked.estimate), item(direct.estimate), 1e-12));
  gradcheck(
    (p: { pos: Tensor; negs: Tensor }) => infoNceOneVsMany(p.pos, p.negs, { mask: reshape(mask, [1, 5]) }).loss,
    { pos, negs },
  );
});

test('infoNce f32: scores of ±1e4 give finite loss, estimate and gradients', async () => {
  const { valueAndGrad } = await import('../../core/index.ts');
  const s = tensor(
    bk,
    [
      [1e4, -1e4, 0],
      [-1e4, -1e4, 1e4],
      [1e4, 1e4, -1e4],
    ],
    { dtype: 'f32' },
  );
  const [v, g] = valueAndGrad((x: Tensor) => infoNce(x).loss)(s);
  assert.ok(Number.isFinite(item(v)));
  assert.ok(host(g).every(Number.isFinite));
  assert.ok(Number.isFinite(item(infoNce(s).estimate)));
  const o = infoNceOneVsMany(
    tensor(bk, [1e4, -1e4], { dtype: 'f32' }),
    tensor(
      bk,
      [
        [-1e4, 1e4],
        [1e4, 1e4],
      ],
      { dtype: 'f32' },
    ),
  );
  assert.ok(Number.isFinite(item(o.loss)) && Number.isFinite(item(o.estimate)));
});

test('infoNce: shape errors name the problem', () => {
  assert.throws(() => infoNce(randn(1, [3, 2])), /N ≤ M/);
  assert.throws(() => infoNce(randn(1, [2, 2]), { positives: i32([0]) }), /positives must be i32 \[2\]/);
  assert.throws(() => infoNceOneVsMany(randn(1, [2]), randn(1, [3, 4])), /positive \[B\]/);
});

test.run();
