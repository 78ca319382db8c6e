/**
 * int8 frozen-weight storage: what the numbers are, defined once, for every backend and the oracle.
 *
 * A frozen dense weight W [N, K] (torch Linear layout) is quantized once, at load, symmetric per
 * output channel: s_n = max_k |W[n,k]| / 63, q[n,k] = round(W[n,k] / s_n) ∈ [−63, 63]. The weight gets
 * 7 bits, not 8, because WASM relaxed SIMD's integer dot product (`i32x4.relaxed_dot_i8x16_i7x16_add_s`)
 * is deterministic only while its second operand stays in [0, 127]: the kernels feed it q + 64 and
 * subtract 64·Σ_k a_k after the sum. The other operand, the activation row (forward) or the incoming
 * gradient row (backward), is quantized per row on the fly to the full [−127, 127], where BERT's
 * outlier features need the extra bit most.
 *
 *   forward  y[m,n]  = f32(Σ_k qx[m,k]·q[n,k]) · f32(sx_m · s_n) + b_n          (x [M, K] · Wᵀ)
 *   backward dx[m,k] = f32(Σ_n qg[m,n]·q[n,k]) · f32(sg_m · 1) + 0    with g[m,n] = f32(dy[m,n]·s_n)
 *
 * The integer sums are exact (|Σ| < 2³¹ for K < 2¹⁷), every other step is one f32 operation rounded to
 * nearest even, so a kernel that keeps this order reproduces the reference bit for bit. Rounding to an
 * integer is round-half-even (f32x4.nearest); a NaN rounds to 0 (i32x4.trunc_sat), and a row holding
 * NaN or ±∞ comes out NaN through its scale. Neither W nor its quantization is ever differentiated.
 */

/** Weight levels each side of zero (7-bit operand, see above). */
export const WEIGHT_LEVELS = 63;
/** Activation / incoming-gradient levels each side of zero. */
export const ROW_LEVELS = 127;
/** What the kernels add to a weight code so that it is a non-negative 7-bit operand. */
export const WEIGHT_OFFSET = 64;

/** A quantized frozen weight on the host: codes [rows, cols] row-major and one scale per row (output channel). */
export interface Int8Matrix {
  /** N: output channels. */
  readonly rows: number;
  /** K: input features. */
  readonly cols: number;
  /** Codes in [−63, 63], row-major [N, K]. */
  readonly q: Int8Array;
  /** s_n, one per output channel (f32 values). */
  readonly scale: Float32Array;
}

const f32 = Math.fround;

/** Round to nearest, ties to even, as f32x4.nearest; NaN → 0 as i32x4.trunc_sat_f32x4_s. */
export function roundHalfEven(v: number): number {
  if (Number.isNaN(v)) return 0;
  const r = Math.round(v); // ties toward +∞
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Symmetric per-row quantization of W [rows, cols] (f32 values) to 7-bit codes; `what` names it in errors. */
export function quantizeWeights(w: ArrayLike<number>, rows: number, cols: number, what = 'weight'): Int8Matrix {
  if (w.length !== rows * cols)
    throw new RangeError(`quantizeWeights: ${what} has ${w.length} elements, want [${rows}, ${cols}]`);
  const q = new Int8Array(rows * cols),
    scale = new Float32Array(rows);
  for (let n = 0; n < rows; n++) {
    let maxAbs = 0;
    for (let k = 0; k < cols; k++) maxAbs = Math.max(maxAbs, Math.abs(f32(w[n * cols + k]!)));
    if (!Number.isFinite(maxAbs))
      throw new RangeError(`quantizeWeights: ${what} row ${n} holds ${maxAbs} (int8 storage needs finite weights)`);
    const inv = f32(WEIGHT_LEVELS / maxAbs);
    scale[n] = f32(maxAbs / WEIGHT_LEVELS);
    for (let k = 0; k < cols; k++) q[n * cols + k] = roundHalfEven(f32(f32(w[n * cols + k]!) * inv));
  }
  return { rows, cols, q, scale };
}

/**
 * Quantizes one row of `len` values at x[off …] (each first multiplied by colMul[k] in f32, when given)
 * to [−127, 127] codes written at out[outOff …]; returns the row's scale max|·|/127.
 */
export function quantizeRow(
  x: ArrayLike<number>,
  off: number,
  len: number,
  colMul: ArrayLike<number> | undefined,
  out: Int8Array,
  outOff: number,
): number {
  const at = (k: number): number => (colMul ? f32(x[off + k]! * colMul[k]!) : f32(x[off + k]!));
  let maxAbs = 0;
  for (let k = 0; k < len; k++) maxAbs = Math.max(maxAbs, Math.abs(at(k))); // NaN propagates, as f32x4.max
  const inv = f32(ROW_LEVELS / maxAbs);
  for (let k = 0; k < len; k++) out[outOff + k] = roundHalfEven(f32(at(k) * inv));
  return f32(maxAbs / ROW_LEVELS);
}

export type Int8Direction = 'forward' | 'backward';

/**
 * The oracle: forward x [M, K] → [M, N] (+ bias [N]); backward dy [M, N] → dx [M, K]. Integer sums
 * exactly in f64, every other step an f32 rounding in the order the header states.
 */
export function int8ProductRef(
  x: ArrayLike<number>,
  M: number,
  w: Int8Matrix,
  dir: Int8Direction,
  bias?: ArrayLike<number>,
): Float32Array {
  const { rows: N, cols: K, q, scale } = w;
  const inner = dir === 'forward' ? K : N,
    outer = dir === 'forward' ? N : K;
  const out = new Float32Array(M * outer),
    qa = new Int8Array(inner),
    acc = new Float64Array(outer);
  for (let m = 0; m < M; m++) {
    const sa = quantizeRow(x, m * inner, inner, dir === 'forward' ? undefined : scale, qa, 0);
    acc.fill(0);
    if (dir === 'forward') {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += qa[k]! * q[n * K + k]!;
        acc[n] = s;
      }
    } else {
      for (let n = 0; n < N; n++) {
        const a = qa[n]!;
        if (a !== 0) for (let k = 0; k < K; k++) acc[k]! += a * q[n * K + k]!;
      }
    }
    for (let j = 0; j < outer; j++) {
      const s = dir === 'forward' ? f32(sa * scale[j]!) : sa;
      out[m * outer + j] = f32(f32(f32(acc[j]!) * s) + (bias ? bias[j]! : 0));
    }
  }
  return out;
}
