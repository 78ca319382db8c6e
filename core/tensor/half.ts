/**
 * IEEE 754 binary16 ("half", f16) as frozen-weight storage. Only f32 → f16 rounds: an f64 source
 * would round twice (f64 → f32 → f16) and can land on a different half than a direct rounding, so
 * the cast op refuses it instead of hiding that. f16 → f32/f64 is exact (every half is an f32).
 *
 * `halfBitsOfF32Bits` is numpy's npy_floatbits_to_halfbits (round to nearest, ties to even; values
 * that round past 65504 become ±Inf; NaN keeps its top payload bits and stays NaN). The WGSL cast in
 * kernels/wgsl/half.ts is the same algorithm, so both backends store identical halves.
 */

/** binary16 bits (0..0xffff) of the f32 whose bits are `f` (a u32). */
export function halfBitsOfF32Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = f & 0x7f800000;
  if (exp >= 0x47800000) {
    // |x| ≥ 2^16: Inf, NaN, or an overflow to Inf
    if (exp === 0x7f800000 && (f & 0x7fffff) !== 0) {
      const nan = 0x7c00 + ((f & 0x7fffff) >>> 13);
      return sign | (nan === 0x7c00 ? 0x7c01 : nan); // a payload only in low bits must stay a NaN
    }
    return sign | 0x7c00;
  }
  if (exp <= 0x38000000) {
    // |x| < 2^-14: a subnormal half or zero; below 2^-25 everything rounds to ±0
    if (exp < 0x33000000) return sign;
    const e = exp >>> 23;
    let sig = (0x00800000 + (f & 0x7fffff)) >>> (113 - e);
    // ties to even: skip the +half-ulp when exactly halfway with an even result; the shift may
    // have dropped up to 11 low bits, which the `f & 0x7ff` test puts back into the decision
    if ((sig & 0x3fff) !== 0x1000 || (f & 0x7ff) !== 0) sig += 0x1000;
    return sign + (sig >>> 13); // a carry into the exponent gives the smallest normal, as it should
  }
  let sig = f & 0x7fffff;
  if ((sig & 0x3fff) !== 0x1000) sig += 0x1000;
  // a carry out of the significand bumps the exponent (and 65520 ≤ |x| < 65536 becomes Inf)
  return sign + ((exp - 0x38000000) >>> 13) + (sig >>> 13);
}

/** The value of binary16 bits `h`, exactly. */
export function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f,
    m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1024 + m) * 2 ** (e - 25);
}

let table: Float32Array | undefined;
/** All 65536 half values as f32 (256 KiB, built once): decoding is then one lookup. */
function halfTable(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = halfValue(h);
  }
  return table;
}

/** f32 values → their binary16 bits (length rounded up to even, so a buffer of u32 words holds it). */
export function encodeHalf(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length + (src.length & 1));
  for (let i = 0; i < src.length; i++) out[i] = halfBitsOfF32Bits(bits[i]!);
  return out;
}

/** The first `n` binary16 values of `bits` as f32 (exact). */
export function decodeHalf(bits: Uint16Array, n = bits.length): Float32Array {
  const t = halfTable();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = t[bits[i]!]!;
  return out;
}

/** f32 values rounded to the nearest half, kept as f32: how the CPU reference stores an f16 tensor. */
export const roundToHalf = (src: Float32Array): Float32Array => decodeHalf(encodeHalf(src), src.length);
