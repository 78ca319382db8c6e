/**
 * f32 ↔ f16 casts for frozen-weight storage. The halves travel as u32 words (two per word, element
 * 2i in the low half), so neither kernel needs `enable f16`: the matmul kernel reads the same buffer
 * as array<f16>, where WGSL's 2-byte stride puts element 2i in the low half of word i as well.
 *
 * The rounding is done with integer ops, not `f16(x)` or pack2x16float: WGSL leaves the rounding
 * direction of an inexact f32 → f16 conversion and the result of an out-of-range one to the
 * implementation. This is core/tensor/half.ts halfBitsOfF32Bits (numpy's algorithm) line for line,
 * so the GPU stores exactly the halves the CPU reference does (round to nearest even, overflow to
 * ±Inf, NaN kept). Decoding is exact and spelled out too, so no driver can flush f16 subnormals.
 */
import { grid, LINEAR_WG, ParamWriter, paramsWgsl, WG_BUILTINS, type Program } from './common.ts';

export const REFERENCE = 'core/tensor/half.ts: halfBitsOfF32Bits / halfValue';
const WG = 256;

const TO_HALF = `
fn half_bits(v: f32) -> u32 {
  let f = bitcast<u32>(v);
  let sign = (f >> 16u) & 0x8000u;
  let e = f & 0x7f800000u;
  if (e >= 0x47800000u) {
    if (e == 0x7f800000u && (f & 0x7fffffu) != 0u) {
      let nan = 0x7c00u + ((f & 0x7fffffu) >> 13u);
      return sign | select(nan, 0x7c01u, nan == 0x7c00u);
    }
    return sign | 0x7c00u;
  }
  if (e <= 0x38000000u) {
    if (e < 0x33000000u) { return sign; }
    var sig = (0x00800000u + (f & 0x7fffffu)) >> (113u - (e >> 23u));
    if ((sig & 0x3fffu) != 0x1000u || (f & 0x7ffu) != 0u) { sig += 0x1000u; }
    return sign + (sig >> 13u);
  }
  var sig = f & 0x7fffffu;
  if ((sig & 0x3fffu) != 0x1000u) { sig += 0x1000u; }
  return sign + ((e - 0x38000000u) >> 13u) + (sig >> 13u);
}`;

const FROM_HALF = `
fn half_value(h: u32) -> f32 {
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  let sign = (h & 0x8000u) << 16u;
  if (e == 0u) { return select(1.0, -1.0, sign != 0u) * f32(m) * 5.9604644775390625e-8; } // m·2^-24, exact
  if (e == 31u) { return bitcast<f32>(sign | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}`;

/** One thread per index below `threads`, reading `x` and writing `out`; n in Params[0]. */
function castProgram(
  name: string,
  key: string,
  n: number,
  threads: number,
  io: readonly [string, string],
  fns: string,
  body: string,
): Program {
  const wgsl = () => `// ${key}
@group(0) @binding(0) var<storage, read> x: array<${io[0]}>;
@group(0) @binding(1) var<storage, read_write> out: array<${io[1]}>;
${paramsWgsl(2)}
${fns}
@compute @workgroup_size(${WG})
fn main(${WG_BUILTINS}) {
  let i = (${LINEAR_WG}) * ${WG}u + lix;
  let n = pu(0u);
  ${body}
}`;
  return { name, key, wgsl, params: new ParamWriter().u(n).done(), workgroups: grid(Math.ceil(threads / WG)) };
}

/** x f32 [n] → out u32 [⌈n/2⌉] holding the halves; thread i packs elements 2i and 2i+1. */
export const toHalfProgram = (n: number): Program =>
  castProgram(
    'cast(f32→f16)',
    'cast/f32>f16',
    n,
    Math.ceil(n / 2),
    ['f32', 'u32'],
    TO_HALF,
    `
  if (2u * i >= n) { return; }
  var hi = 0u;
  if (2u * i + 1u < n) { hi = half_bits(x[2u * i + 1u]); }
  out[i] = half_bits(x[2u * i]) | (hi << 16u);`,
  );

/** Halves in u32 words [⌈n/2⌉] → out f32 [n]; one thread per element. */
export const fromHalfProgram = (n: number): Program =>
  castProgram(
    'cast(f16→f32)',
    'cast/f16>f32',
    n,
    n,
    ['u32', 'f32'],
    FROM_HALF,
    `
  if (i >= n) { return; }
  out[i] = half_value((x[i / 2u] >> (16u * (i % 2u))) & 0xffffu);`,
  );
