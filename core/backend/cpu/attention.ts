/**
 * CPU reference of fused scaled-dot-product attention (plain loops, f64 accumulation), the kernel the
 * WGSL flash-style forward/backward (kernels/wgsl/attention.ts) answers to.
 *
 * Forward per query row: s_j = scale·q·k_j + bias_j, m = max s, l = Σ exp(s − m),
 * out = Σ exp(s_j − m)/l · v_j, lse = m + log l.
 * Backward recomputes P from lse and renormalises it by its own row sum r = Σ exp(s − lse), so lse only
 * has to be a stable shift. That matters for fully masked rows: with the HF mask value (finfo.min) every
 * score rounds to finfo.min, the composite gives uniform probabilities, and lse = finfo.min + log Tk
 * rounds back to finfo.min — exp(s − lse) is then 1, not 1/Tk, and only the renormalisation recovers
 * the composite's gradients exactly. Rows that are all −∞ (where the composite's softmax is 0/0 = NaN)
 * give out = 0, lse = −∞ and zero gradients instead.
 */
import { allocArray, type AnyTypedArray, type DType } from '../../tensor/dtype.ts';
import type { Shape } from '../../tensor/shape.ts';

export interface AttnDims {
  readonly B: number;
  readonly H: number;
  readonly Tq: number;
  readonly Tk: number;
  readonly Dh: number;
}

/** Element strides of a bias right-aligned against [B, H, Tq, Tk] (0 on broadcast axes). */
export function biasStrides(shape: Shape): [number, number, number, number] {
  const full = [1, 1, 1, 1];
  shape.forEach((d, i) => {
    full[4 - shape.length + i] = d;
  });
  const st: [number, number, number, number] = [0, 0, 0, 0];
  let acc = 1;
  for (let ax = 3; ax >= 0; ax--) {
    st[ax] = full[ax] === 1 ? 0 : acc;
    acc *= full[ax]!;
  }
  return st;
}

export interface AttnBias {
  readonly data: AnyTypedArray;
  readonly shape: Shape;
}

/** Scores of row (bh, i) into `s` (length Tk). */
function scores(
  s: Float64Array,
  q: AnyTypedArray,
  k: AnyTypedArray,
  bias: AttnBias | undefined,
  st: readonly number[],
  d: AttnDims,
  bh: number,
  i: number,
  scale: number,
): void {
  const { H, Tq, Tk, Dh } = d;
  const qo = (bh * Tq + i) * Dh;
  const bo = Math.floor(bh / H) * st[0]! + (bh % H) * st[1]! + i * st[2]!;
  for (let j = 0; j < Tk; j++) {
    const ko = (bh * Tk + j) * Dh;
    let dot = 0;
    for (let e = 0; e < Dh; e++) dot += q[qo + e]! * k[ko + e]!;
    s[j] = scale * dot + (bias ? bias.data[bo + j * st[3]!]! : 0);
  }
}

/** q [B,H,Tq,Dh], k/v [B,H,Tk,Dh], bias broadcastable to [B,H,Tq,Tk] → out [B,H,Tq,Dh], lse [B,H,Tq]. */
export function attentionRef(
  q: AnyTypedArray,
  k: AnyTypedArray,
  v: AnyTypedArray,
  bias: AttnBias | undefined,
  d: AttnDims,
  scale: number,
  dtype: DType,
) {
  const { B, H, Tq, Tk, Dh } = d;
  const out = allocArray(dtype, B * H * Tq * Dh),
    lse = allocArray(dtype, B * H * Tq);
  const st = bias ? biasStrides(bias.shape) : [0, 0, 0, 0];
  const s = new Float64Array(Tk),
    o = new Float64Array(Dh);
  for (let bh = 0; bh < B * H; bh++) {
    for (let i = 0; i < Tq; i++) {
      scores(s, q, k, bias, st, d, bh, i, scale);
      let m = -Infinity;
      for (let j = 0; j < Tk; j++) m = Math.max(m, s[j]!);
      const row = bh * Tq + i;
      if (m === -Infinity) {
        lse[row] = -Infinity;
        continue;
      } // all −∞ (or Tk = 0): out stays 0
      let l = 0;
      o.fill(0);
      for (let j = 0; j < Tk; j++) {
        const p = Math.exp(s[j]! - m);
        l += p;
        const vo = (bh * Tk + j) * Dh;
        for (let e = 0; e < Dh; e++) o[e]! += p * v[vo + e]!;
      }
      for (let e = 0; e < Dh; e++) out[row * Dh + e] = o[e]! / l;
      lse[row] = m + Math.log(l);
    }
  }
  return { out, lse };
}

/**
 * dOut [B,H,Tq,Dh] → dq, dk, dv. P = exp(s − lse)/r, D = rowsum(dOut ⊙ out), dS = P ⊙ (dOut·Vᵀ − D),
 * dq = scale·dS·K, dk = scale·dSᵀ·Q, dv = Pᵀ·dOut (no bias gradient: it is a mask).
 */
export function attentionBackwardRef(
  dOut: AnyTypedArray,
  q: AnyTypedArray,
  k: AnyTypedArray,
  v: AnyTypedArray,
  bias: AttnBias | undefined,
  out: AnyTypedArray,
  lse: AnyTypedArray,
  d: AttnDims,
  scale: number,
  dtype: DType,
) {
  const { B, H, Tq, Tk, Dh } = d;
  const st = bias ? biasStrides(bias.shape) : [0, 0, 0, 0];
  const dq = new Float64Array(B * H * Tq * Dh),
    dk = new Float64Array(B * H * Tk * Dh),
    dv = new Float64Array(B * H * Tk * Dh);
  const s = new Float64Array(Tk),
    p = new Float64Array(Tk);
  for (let bh = 0; bh < B * H; bh++) {
    for (let i = 0; i < Tq; i++) {
      const row = bh * Tq + i,
        qo = row * Dh;
      const L = lse[row]!;
      if (L === -Infinity || Number.isNaN(L)) continue; // all keys −∞: no gradient
      scores(s, q, k, bias, st, d, bh, i, scale);
      let r = 0;
      for (let j = 0; j < Tk; j++) {
        p[j] = Math.exp(s[j]! - L);
        r += p[j]!;
      }
      let D = 0;
      for (let e = 0; e < Dh; e++) D += dOut[qo + e]! * out[qo + e]!;
      for (let j = 0; j < Tk; j++) {
        const pj = p[j]! / r,
          ko = (bh * Tk + j) * Dh;
        let dp = 0;
        for (let e = 0; e < Dh; e++) {
          dp += dOut[qo + e]! * v[ko + e]!;
          dv[ko + e]! += pj * dOut[qo + e]!;
        }
        const ds = pj * (dp - D) * scale;
        for (let e = 0; e < Dh; e++) {
          dq[qo + e]! += ds * k[ko + e]!;
          dk[ko + e]! += ds * q[qo + e]!;
        }
      }
    }
  }
  const cast = (a: Float64Array) => {
    const r = allocArray(dtype, a.length);
    r.set(a);
    return r;
  };
  return { dq: cast(dq), dk: cast(dk), dv: cast(dv) };
}
