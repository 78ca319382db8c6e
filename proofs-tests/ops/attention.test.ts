/**
 * fusedAttention (the primitive behind `attention` without keyWeights) against the composite reference
 * (values and q/k/v gradients) and against finite differences in f64, over random shapes (Tq ≠ Tk)
 * and every bias layout BERT uses (none, [B,1,1,Tk] padding mask with finfo.min, [Tq,Tk], [1,H,Tq,Tk]);
 * fully masked rows (finfo.min: uniform as the composite; −∞: zeros, never NaN); dispatch and memory.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  attention,
  attentionComposite,
  cpuBackend,
  fusedAttention,
  mul,
  scope,
  sum,
  tensor,
  valueAndGrad,
  vjp,
  type Tensor,
} from '../../core/index.ts';
import { forAll, seedArb, toTensor, valuesArb, type TensorSpec } from '../support/arbitraries.ts';
import { expectClose } from '../support/close.ts';
import { checkVjp } from '../support/gradcheck.ts';

const bk = cpuBackend();
const FMIN = -3.4028234663852886e38; // torch.finfo(float32).min, HF's mask value
const dim = (max: number) => fc.integer({ min: 1, max });
type BiasKind = 'none' | 'mask' | 'rel' | 'head';

const arb = fc
  .tuple(dim(2), dim(3), dim(5), dim(6), dim(5), fc.constantFrom<BiasKind>('none', 'mask', 'rel', 'head'))
  .chain(([B, H, Tq, Tk, Dh, kind]) =>
    fc.tuple(
      valuesArb([B, H, Tq, Dh], { low: -2, high: 2 }),
      valuesArb([B, H, Tk, Dh], { low: -2, high: 2 }),
      valuesArb([B, H, Tk, Dh]),
      fc.constant(kind),
      fc.array(fc.boolean(), { minLength: B * Tk, maxLength: B * Tk }),
      valuesArb(kind === 'head' ? [1, H, Tq, Tk] : [Tq, Tk], { low: -1, high: 1 }),
      fc.double({ min: 0.1, max: 1.5, noNaN: true }),
      seedArb,
    ),
  );

/** The bias of a case; key 0 of each batch row is never masked. */
function makeBias(kind: BiasKind, q: TensorSpec, Tk: number, keep: boolean[], rel: TensorSpec): Tensor | undefined {
  const B = q.shape[0]!;
  if (kind === 'none') return undefined;
  if (kind === 'mask')
    return tensor(
      bk,
      keep.map((kp, i) => (kp || i % Tk === 0 ? 0 : FMIN)),
      { shape: [B, 1, 1, Tk], dtype: 'f64' },
    );
  return toTensor(bk, rel);
}

/** Values and vjp(q, k, v) of an attention function for one cotangent. */
type AttnFn = (q: Tensor, k: Tensor, v: Tensor, bias: Tensor | undefined, scale: number) => Tensor;
function run(f: AttnFn, q: Tensor, k: Tensor, v: Tensor, bias: Tensor | undefined, scale: number, ct: Tensor) {
  const [y, pull] = vjp(([a, b, c]: [Tensor, Tensor, Tensor]) => f(a, b, c, bias, scale), [q, k, v]);
  return { y, g: pull(ct) };
}

test('fused forward and q/k/v gradients equal the composite (f64, 1e-12)', () => {
  forAll(bk, arb, ([q, k, v, kind, keep, rel, scale, seed]) => {
    const bias = makeBias(kind, q, k.shape[2]!, keep, rel);
    const [tq, tk, tv] = [q, k, v].map((s) => toTensor(bk, s)) as [Tensor, Tensor, Tensor];
    const ct = toTensor(bk, { shape: q.shape, values: q.values.map((x, i) => Math.sin(seed + 3 * i + x)) });
    const fused = run(fusedAttention, tq, tk, tv, bias, scale, ct),
      comp = run(attentionComposite, tq, tk, tv, bias, scale, ct);
    const tol = { atol: 1e-12, rtol: 1e-10 };
    expectClose(fused.y, comp.y, tol, `out ${kind}`);
    for (const i of [0, 1, 2]) expectClose(fused.g[i]!, comp.g[i]!, tol, `d${'qkv'[i]} ${kind}`);
  });
});

test('vjp of fusedAttention matches finite differences (f64), bias held constant', () => {
  forAll(
    bk,
    arb,
    ([q, k, v, kind, keep, rel, scale, seed]) => {
      const bias = makeBias(kind, q, k.shape[2]!, keep, rel);
      const ins = [q, k, v].map((s) => toTensor(bk, s)) as [Tensor, Tensor, Tensor];
      checkVjp(([a, b, c]) => fusedAttention(a, b, c, bias, scale), ins, { seed, label: `fusedAttention ${kind}` });
    },
    { numRuns: 25 },
  );
});

test("fully masked rows: finfo.min gives the composite's uniform rows and gradients; −∞ gives zeros, no NaN", () => {
  scope(bk, () => {
    const [B, H, Tq, Tk, Dh] = [2, 2, 3, 4, 3];
    const r = (n: number, s: number) => Float64Array.from({ length: n }, (_, i) => Math.sin(s + 1.7 * i));
    const q = tensor(bk, r(B * H * Tq * Dh, 1), { shape: [B, H, Tq, Dh], dtype: 'f64' });
    const k = tensor(bk, r(B * H * Tk * Dh, 2), { shape: [B, H, Tk, Dh], dtype: 'f64' });
    const v = tensor(bk, r(B * H * Tk * Dh, 3), { shape: [B, H, Tk, Dh], dtype: 'f64' });
    const ct = tensor(bk, r(B * H * Tq * Dh, 4), { shape: [B, H, Tq, Dh], dtype: 'f64' });
    // batch 0: all keys masked; batch 1: keys 1..3 masked
    const mask = (val: number) =>
      tensor(bk, [val, val, val, val, 0, val, val, val], { shape: [B, 1, 1, Tk], dtype: 'f64' });
    const fused = run(fusedAttention, q, k, v, mask(FMIN), 0.5, ct),
      comp = run(attentionComposite, q, k, v, mask(FMIN), 0.5, ct);
    expectClose(fused.y, comp.y, { atol: 1e-14, rtol: 1e-12 }, 'finfo.min out');
    for (const i of [0, 1, 2])
      expectClose(fused.g[i]!, comp.g[i]!, { atol: 1e-14, rtol: 1e-12 }, `finfo.min d${'qkv'[i]}`);
    const yv = fused.y.dataSync(),
      vv = v.dataSync();
    for (let e = 0; e < Dh; e++) {
      // uniform over the 4 masked keys of (b0, h0)
      assert.ok(Math.abs(yv[e]! - (vv[e]! + vv[Dh + e]! + vv[2 * Dh + e]! + vv[3 * Dh + e]!) / 4) < 1e-14);
    }
    const inf = run(fusedAttention, q, k, v, mask(-Infinity), 0.5, ct);
    const lse = bk.attention(q, k, v, mask(-Infinity), 0.5);
    const lv = bk.readSync({ id: lse.lse, shape: [B, H, Tq], dtype: 'f64' });
    bk.decRef(lse.lse);
    bk.decRef(lse.out);
    for (const t of [inf.y, ...inf.g]) assert.ok(t.dataSync().every(Number.isFinite), 'no NaN/∞ with −∞ rows');
    assert.ok(
      Array.from(inf.y.dataSync().subarray(0, H * Tq * Dh)).every((x) => x === 0),
      'batch 0 rows are 0',
    );
    assert.ok(
      Array.from(lv.subarray(0, H * Tq)).every((x) => x === -Infinity),
      'lse −∞ on fully −∞ rows',
    );
    expectClose(
      inf.y.dataSync().subarray(H * Tq * Dh),
      comp.y.dataSync().subarray(H * Tq * Dh),
      { atol: 1e-14, rtol: 1e-12 },
      '−∞ batch 1',
    );
  });
});

test('f32 on the CPU: fused vs composite within f32 rounding', () => {
  forAll(
    bk,
    arb,
    ([q, k, v, kind, keep, rel, scale, seed]) => {
      const f32 = (s: TensorSpec) => tensor(bk, Float32Array.from(s.values), { shape: s.shape, dtype: 'f32' });
      const b64 = makeBias(kind, q, k.shape[2]!, keep, rel);
      const bias = b64 && tensor(bk, Float32Array.from(b64.dataSync()), { shape: b64.shape, dtype: 'f32' });
      const [tq, tk, tv] = [q, k, v].map(f32) as [Tensor, Tensor, Tensor];
      const ct = tensor(
        bk,
        Float32Array.from(q.values, (x, i) => Math.cos(seed + i + x)),
        { shape: q.shape, dtype: 'f32' },
      );
      const fused = run(fusedAttention, tq, tk, tv, bias, scale, ct),
        comp = run(attentionComposite, tq, tk, tv, bias, scale, ct);
      const tol = { atol: 2e-5, rtol: 2e-4 };
      expectClose(fused.y, comp.y, tol, `out f32 ${kind}`);
      for (const i of [0, 1, 2]) expectClose(fused.g[i]!, comp.g[i]!, tol, `d${'qkv'[i]} f32 ${kind}`);
    },
    { numRuns: 20 },
  );
});

test('attention() dispatch: fused for masks, composite for a learned bias or keyWeights; traced bias into the primitive throws', () => {
  scope(bk, () => {
    const q = tensor(
      bk,
      Float64Array.from({ length: 12 }, (_, i) => Math.sin(i)),
      { shape: [1, 1, 3, 4], dtype: 'f64' },
    );
    const rel = tensor(
      bk,
      Float64Array.from({ length: 9 }, (_, i) => 0.1 * i),
      { shape: [3, 3], dtype: 'f64' },
    );
    const loss = (p: { b: Tensor }) => sum(mul(attention(q, q, q, p.b), q));
    const [, g] = valueAndGrad(loss)({ b: rel }); // composite path: the bias gets a gradient
    assert.ok(g.b.dataSync().some((x) => x !== 0));
    assert.throws(
      () => valueAndGrad((p: { b: Tensor }) => sum(fusedAttention(q, q, q, p.b, 0.5)))({ b: rel }),
      /bias is a mask/,
    );
    expectClose(attention(q, q, q, rel), attentionComposite(q, q, q, rel), { atol: 1e-15, rtol: 1e-13 }, 'dispatch');
    const w = tensor(bk, [1, 0.5, 0], { shape: [1, 1, 1, 3], dtype: 'f64' });
    expectClose(
      attention(q, q, q, rel, 0.5, w),
      attentionComposite(q, q, q, rel, 0.5, w),
      { atol: 0, rtol: 0 },
      'keyWeights',
    );
  });
});

test('20 valueAndGrad steps through fusedAttention return bk.live() to its baseline (saved lse freed)', () => {
  const q = tensor(
    bk,
    Float64Array.from({ length: 24 }, (_, i) => Math.cos(i)),
    { shape: [1, 2, 3, 4], dtype: 'f64' },
  );
  const base = bk.live();
  for (let s = 0; s < 20; s++) {
    scope(bk, () => {
      valueAndGrad((p: { k: Tensor }) => sum(fusedAttention(q, p.k, p.k, undefined, 0.5)))({ k: q });
    });
  }
  assert.is(bk.live(), base);
});

test.run();
