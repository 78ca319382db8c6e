/** CPU reference fused kernels along the last axis: softmax, log-softmax, layer norm fwd/bwd, cross-entropy, AdamW. */
import type { AdamWHyper } from '../backend.ts';
import { allocArray, type AnyTypedArray, type DType } from '../../tensor/dtype.ts';

/** x [R, C] → softmax rows (max-subtracted); `log` gives log-softmax. */
export function softmaxRef(x: AnyTypedArray, C: number, dtype: DType, log: boolean): AnyTypedArray {
  const R = C === 0 ? 0 : x.length / C;
  const out = allocArray(dtype, x.length);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, x[o + j]!);
    if (m === -Infinity) m = 0; // fully masked row: keep exp finite (uniform or NaN as inputs dictate)
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(x[o + j]! - m);
    if (log) {
      const ls = Math.log(s) + m;
      for (let j = 0; j < C; j++) out[o + j] = x[o + j]! - ls;
    } else for (let j = 0; j < C; j++) out[o + j] = Math.exp(x[o + j]! - m) / s;
  }
  return out;
}

/** x [R, C], w [C], b [C] → y [R, C], mean [R], rstd [R] (biased variance, as torch). */
export function layerNormRef(
  x: AnyTypedArray,
  w: AnyTypedArray,
  b: AnyTypedArray,
  C: number,
  eps: number,
  dtype: DType,
) {
  const R = C === 0 ? 0 : x.length / C;
  const y = allocArray(dtype, x.length),
    mean = allocArray(dtype, R),
    rstd = allocArray(dtype, R);
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let m = 0;
    for (let j = 0; j < C; j++) m += x[o + j]!;
    m /= C;
    let v = 0;
    for (let j = 0; j < C; j++) {
      const d = x[o + j]! - m;
      v += d * d;
    }
    const rs = 1 / Math.sqrt(v / C + eps);
    for (let j = 0; j < C; j++) y[o + j] = (x[o + j]! - m) * rs * w[j]! + b[j]!;
    mean[r] = m;
    rstd[r] = rs;
  }
  return { y, mean, rstd };
}

/**
 * llm.c layernorm_backward: dx = rstd·(dŷ − mean(dŷ) − x̂·mean(dŷ·x̂)) with dŷ = dy·w; dWeight/dBias
 * (column sums) only when `params`.
 */
export function layerNormBackwardRef(
  dy: AnyTypedArray,
  x: AnyTypedArray,
  w: AnyTypedArray,
  mean: AnyTypedArray,
  rstd: AnyTypedArray,
  C: number,
  dtype: DType,
  params = true,
) {
  const R = C === 0 ? 0 : x.length / C;
  const dx = allocArray(dtype, x.length);
  const dw = new Float64Array(C),
    db = new Float64Array(C);
  for (let r = 0; r < R; r++) {
    const o = r * C,
      m = mean[r]!,
      rs = rstd[r]!;
    let sumD = 0,
      sumDX = 0;
    for (let j = 0; j < C; j++) {
      const xh = (x[o + j]! - m) * rs,
        dyh = dy[o + j]! * w[j]!;
      sumD += dyh;
      sumDX += dyh * xh;
      if (params) {
        dw[j]! += dy[o + j]! * xh;
        db[j]! += dy[o + j]!;
      }
    }
    sumD /= C;
    sumDX /= C;
    for (let j = 0; j < C; j++) {
      const xh = (x[o + j]! - m) * rs;
      dx[o + j] = rs * (dy[o + j]! * w[j]! - sumD - xh * sumDX);
    }
  }
  const dWeight = allocArray(dtype, C),
    dBias = allocArray(dtype, C);
  dWeight.set(dw);
  dBias.set(db);
  return { dx, dWeight, dBias };
}

/**
 * Softmax cross-entropy per row, logits [N, C] and labels [N]: loss = lse − (1 − ε)·x[label] − (ε/C)·Σ x
 * (= −Σ_c target_c·log softmax_c), 0 for `ignore`; lse = m + log Σ exp(x − m). Sums in f64.
 */
export function crossEntropyRef(
  x: AnyTypedArray,
  labels: AnyTypedArray,
  C: number,
  ignore: number,
  eps: number,
  dtype: DType,
) {
  const N = labels.length;
  const loss = allocArray(dtype, N),
    lse = allocArray(dtype, N);
  for (let n = 0; n < N; n++) {
    const o = n * C,
      y = labels[n]!;
    let m = -Infinity,
      sx = 0;
    for (let j = 0; j < C; j++) {
      m = Math.max(m, x[o + j]!);
      sx += x[o + j]!;
    }
    if (m === -Infinity) m = 0;
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(x[o + j]! - m);
    const l = Math.log(s) + m;
    lse[n] = l;
    if (y === ignore) {
      loss[n] = 0;
      continue;
    }
    // torch raises here; a GPU kernel cannot, so WebGPU's writes NaN (kernels/wgsl/cross-entropy.ts)
    if (y < 0 || y >= C)
      throw new RangeError(
        `crossEntropy: label ${y} at position ${n} is out of range for ${C} classes (ignoreIndex ${ignore})`,
      );
    loss[n] = l - (1 - eps) * x[o + y]! - (eps / C) * sx;
  }
  return { loss, lse };
}

/** d logits = dy[n]·(exp(x − lse) − target), 0 on ignored rows. */
export function crossEntropyBackwardRef(
  dy: AnyTypedArray,
  x: AnyTypedArray,
  labels: AnyTypedArray,
  lse: AnyTypedArray,
  C: number,
  ignore: number,
  eps: number,
  dtype: DType,
): AnyTypedArray {
  const dx = allocArray(dtype, x.length);
  for (let n = 0; n < labels.length; n++) {
    const y = labels[n]!;
    if (y === ignore) continue;
    const o = n * C,
      g = dy[n]!,
      l = lse[n]!;
    for (let j = 0; j < C; j++) dx[o + j] = g * (Math.exp(x[o + j]! - l) - ((j === y ? 1 - eps : 0) + eps / C));
  }
  return dx;
}

/** AdamW with decoupled weight decay (Loshchilov & Hutter; torch.optim.AdamW), in place. */
export function adamwRef(p: AnyTypedArray, g: AnyTypedArray, m: AnyTypedArray, v: AnyTypedArray, h: AdamWHyper): void {
  const bc1 = 1 - Math.pow(h.beta1, h.step),
    bc2 = 1 - Math.pow(h.beta2, h.step);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]!;
    const mi = h.beta1 * m[i]! + (1 - h.beta1) * gi;
    const vi = h.beta2 * v[i]! + (1 - h.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const pi = p[i]! * (1 - h.lr * h.weightDecay);
    p[i] = pi - (h.lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + h.eps);
  }
}
