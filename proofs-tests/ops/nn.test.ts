/** Composites: crossEntropy (ignoreIndex, label smoothing, reductions), linear, attention (additive mask), dropout. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  add,
  attention,
  cpuBackend,
  crossEntropy,
  dropout,
  linear,
  prngKey,
  scope,
  sum,
  tensor,
  valueAndGrad,
  type Tensor,
} from '../../core/index.ts';
import { forAll, indicesArb, seedArb, shapeArb, toTensor, valuesArb, type TensorSpec } from '../support/arbitraries.ts';
import { expectClose } from '../support/close.ts';
import { checkVjp } from '../support/gradcheck.ts';

const bk = cpuBackend();
const dim = (max: number) => fc.integer({ min: 1, max });

// ---------- cross-entropy ----------
type Reduction = 'mean' | 'sum' | 'none';
const ceArb = fc.tuple(shapeArb({ maxRank: 2, maxSize: 8 }), fc.integer({ min: 2, max: 5 })).chain(([lead, C]) =>
  fc.tuple(
    valuesArb([...lead, C], { low: -4, high: 4 }),
    fc.constant(lead),
    indicesArb(lead, C),
    fc.array(fc.boolean(), {
      minLength: lead.reduce((a, b) => a * b, 1),
      maxLength: lead.reduce((a, b) => a * b, 1),
    }),
    fc.constantFrom(0, 0.1, 0.3),
    fc.constantFrom<Reduction>('mean', 'sum', 'none'),
    fc.constantFrom(-100, 7),
    seedArb,
  ),
);

/** torch.nn.functional.cross_entropy, written out per example. */
function ceRef(l: TensorSpec, labels: number[], ignore: number, eps: number, red: Reduction): number[] {
  const C = l.shape.at(-1)!;
  const per = labels.map((y, n) => {
    if (y === ignore) return 0;
    const row = Array.from(l.values.subarray(n * C, (n + 1) * C));
    const m = Math.max(...row),
      lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const logp = row.map((v) => v - lse);
    return -(1 - eps) * logp[y]! - (eps / C) * logp.reduce((a, b) => a + b, 0);
  });
  if (red === 'none') return per;
  const total = per.reduce((a, b) => a + b, 0);
  return [red === 'sum' ? total : total / labels.filter((y) => y !== ignore).length];
}

test('vjp and forward: crossEntropy with ignoreIndex, label smoothing and every reduction', () => {
  forAll(bk, ceArb, ([l, lead, ys, drop, eps, red, ignore, seed]) => {
    const labels = ys.map((y, i) => (drop[i] && i > 0 ? ignore : y)); // example 0 always counts (mean stays finite)
    const lab = tensor(bk, labels, { shape: lead, dtype: 'i32' });
    const opts = { ignoreIndex: ignore, labelSmoothing: eps, reduction: red };
    expectClose(
      crossEntropy(toTensor(bk, l), lab, opts),
      ceRef(l, labels, ignore, eps, red),
      { atol: 1e-12, rtol: 1e-12 },
      'crossEntropy',
    );
    checkVjp(([x]) => crossEntropy(x, lab, opts), [toTensor(bk, l)], {
      seed,
      label: `crossEntropy ${JSON.stringify(opts)}`,
    });
  });
});

test('crossEntropy gradient is softmax − one-hot over the valid rows; ignored rows get zero', () => {
  scope(bk, () => {
    const logits = tensor(
      bk,
      [
        [0, 0],
        [1, 2],
      ],
      { dtype: 'f64' },
    );
    const [v, g] = valueAndGrad((p: Tensor) => crossEntropy(p, tensor(bk, [1, -100], { dtype: 'i32' })))(logits);
    expectClose(v, Math.LN2, { atol: 1e-15, rtol: 0 }, 'loss');
    expectClose(g, [0.5, -0.5, 0, 0], { atol: 1e-15, rtol: 0 }, 'dlogits');
    assert.throws(
      () => crossEntropy(logits, tensor(bk, [1, 0, 1], { dtype: 'i32' })),
      /crossEntropy: labels must be i32 \[2\] for logits \[2, 2\], got i32 \[3\]/,
    );
  });
});

// ---------- linear ----------
const linArb = fc
  .tuple(shapeArb({ maxRank: 2, maxDim: 3 }), dim(4), dim(4), fc.boolean())
  .chain(([lead, I, O, bias]) =>
    fc.tuple(
      valuesArb([...lead, I]),
      valuesArb([O, I]),
      bias ? valuesArb([O]).map((b): TensorSpec | undefined => b) : fc.constant(undefined),
      seedArb,
    ),
  );

test('vjp and forward: linear (x·Wᵀ + b) with any leading axes', () => {
  forAll(bk, linArb, ([x, w, b, seed]) => {
    const [O, I] = [w.shape[0]!, w.shape[1]!];
    const rows = x.values.length / I;
    const ref = new Float64Array(rows * O);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < O; o++) {
        let s = b ? b.values[o]! : 0;
        for (let i = 0; i < I; i++) s += x.values[r * I + i]! * w.values[o * I + i]!;
        ref[r * O + o] = s;
      }
    const y = linear(toTensor(bk, x), toTensor(bk, w), b && toTensor(bk, b));
    assert.equal([...y.shape], [...x.shape.slice(0, -1), O]);
    expectClose(y, ref, { atol: 1e-13, rtol: 1e-13 }, 'linear');
    if (b)
      checkVjp(([tx, tw, tb]) => linear(tx, tw, tb), [toTensor(bk, x), toTensor(bk, w), toTensor(bk, b)], {
        seed,
        label: 'linear+bias',
      });
    else checkVjp(([tx, tw]) => linear(tx, tw), [toTensor(bk, x), toTensor(bk, w)], { seed, label: 'linear' });
  });
});

// ---------- attention ----------
const attArb = fc
  .tuple(dim(2), dim(2), dim(3), dim(3), dim(3))
  .chain(([B, H, Tq, Tk, Dh]) =>
    fc.tuple(
      valuesArb([B, H, Tq, Dh], { low: -2, high: 2 }),
      valuesArb([B, H, Tk, Dh], { low: -2, high: 2 }),
      valuesArb([B, H, Tk, Dh]),
      fc.array(fc.boolean(), { minLength: B * Tk, maxLength: B * Tk }),
      valuesArb([Tq, Tk], { low: -1, high: 1 }),
      seedArb,
    ),
  );

/** softmax(q·kᵀ/√Dh + bias)·v with plain loops; bias(b, i, j). */
function attentionRef(
  q: TensorSpec,
  k: TensorSpec,
  v: TensorSpec,
  bias: (b: number, i: number, j: number) => number,
): Float64Array {
  const [B, H, Tq, Dh] = q.shape as [number, number, number, number],
    Tk = k.shape[2]!;
  const out = new Float64Array(B * H * Tq * Dh);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Tq; i++) {
        const qo = ((b * H + h) * Tq + i) * Dh,
          ko = (b * H + h) * Tk * Dh;
        const s = Array.from({ length: Tk }, (_, j) => {
          let d = 0;
          for (let e = 0; e < Dh; e++) d += q.values[qo + e]! * k.values[ko + j * Dh + e]!;
          return d / Math.sqrt(Dh) + bias(b, i, j);
        });
        const m = Math.max(...s),
          p = s.map((x) => Math.exp(x - m)),
          z = p.reduce((a, c) => a + c, 0);
        for (let e = 0; e < Dh; e++)
          out[qo + e] = p.reduce((acc, pj, j) => acc + (pj / z) * v.values[ko + j * Dh + e]!, 0);
      }
  return out;
}

test('vjp and forward: attention with an additive [B,1,1,Tk] padding mask and a learned [Tq,Tk] bias', () => {
  forAll(bk, attArb, ([q, k, v, keep, rel, seed]) => {
    const B = q.shape[0],
      Tk = k.shape[2]!;
    const maskVals = keep.map((kp, i) => (kp || i % Tk === 0 ? 0 : -1e9)); // key 0 is never masked
    const mask = tensor(bk, maskVals, { shape: [B!, 1, 1, Tk], dtype: 'f64' });
    const ref = attentionRef(q, k, v, (b, i, j) => maskVals[b * Tk + j]! + rel.values[i * Tk + j]!);
    const [tq, tk, tv, tr] = [q, k, v, rel].map((s) => toTensor(bk, s)) as [Tensor, Tensor, Tensor, Tensor];
    // mask [B,1,1,Tk] + rel [Tq,Tk] → [B,1,Tq,Tk], broadcast inside attention to [B,H,Tq,Tk]
    expectClose(attention(tq, tk, tv, add(mask, tr)), ref, { atol: 1e-12, rtol: 1e-12 }, 'attention');
    checkVjp(([a, b2, c, r]) => attention(a, b2, c, add(mask, r)), [tq, tk, tv, tr], { seed, label: 'attention' });
  });
});

// ---------- dropout ----------
test('dropout with a fixed key is a linear map: VJP matches, gradient = mask/(1−p)', () => {
  forAll(
    bk,
    fc.tuple(
      shapeArb({ minRank: 1 }).chain((sh) => valuesArb(sh, { avoid: [0] })),
      fc.constantFrom(0.1, 0.5, 0.9),
      seedArb,
    ),
    ([s, p, seed]) => {
      const key = prngKey(seed);
      checkVjp(([x]) => dropout(x, key, p), [toTensor(bk, s)], { seed, label: `dropout p=${p}` });
      const x = toTensor(bk, s);
      const y = dropout(x, key, p).dataSync();
      const [, g] = valueAndGrad((t: Tensor) => sum(dropout(t, key, p)))(x);
      const mask = Array.from(y, (v, i) => v / s.values[i]!);
      for (const m of mask) assert.ok(m === 0 || Math.abs(m - 1 / (1 - p)) < 1e-12, `mask entry ${m}`);
      expectClose(g, mask, { atol: 1e-12, rtol: 1e-12 }, 'dropout grad');
      expectClose(dropout(x, key, p), y, { atol: 0, rtol: 0 }, 'same key, same mask');
    },
  );
});

test('dropout: p = 0 is the identity, p = 1 zeros; keep rate ≈ 1 − p', () => {
  scope(bk, () => {
    const x = tensor(
      bk,
      Float64Array.from({ length: 20000 }, () => 1),
      { dtype: 'f64' },
    );
    expectClose(dropout(x, prngKey(1), 0), x, { atol: 0, rtol: 0 }, 'p=0');
    expectClose(dropout(x, prngKey(1), 1), new Float64Array(20000), { atol: 0, rtol: 0 }, 'p=1');
    const kept = Array.from(dropout(x, prngKey(2), 0.3).dataSync()).filter((v) => v !== 0).length / 20000;
    assert.ok(Math.abs(kept - 0.7) < 0.02, `kept ${kept}`);
    assert.ok(Math.abs(sum(dropout(x, prngKey(3), 0.3)).itemSync() / 20000 - 1) < 0.03, 'unbiased');
  });
});

test.run();
