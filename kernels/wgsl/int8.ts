/**
 * The int8 frozen-weight product of core/tensor/int8.ts in WGSL, on the packed 4×8-bit integer dot
 * product (`dot4I8Packed`, WGSL language feature `packed_4x8_integer_dot_product`): two dispatches.
 *
 * 1. `int8_quant_rows`, one workgroup per row: g = x[m,k] (·colMul[k], the weight's s_n on the data
 *    path), max|g| as the maximum of the magnitudes' bit patterns (u32 order is f32 order for
 *    non-negative floats, and NaN/∞ sort above every finite value, so the row's non-finite check is the
 *    same reduction and needs no float NaN semantics, which WGSL lets a compiler assume away), then
 *    inv = 127/max and scale = max/127 by correctly rounded division (`div_rn`: WGSL's own f32 division
 *    is only 2.5 ULP accurate, and the oracle rounds once), codes round(g·inv) (WGSL's round is ties to
 *    even, as the oracle's), four signed bytes a u32 word, k past the row padded with 0.
 * 2. `int8_gemm`: y[m,n] = f32(Σ_w dot4I8Packed(A[m,w], B[n,w])) · f32(rowScale[m]·colScale[n]) + bias[n]
 *    (the data path: · rowScale[m] + 0), a 32×32 output tile per workgroup of 16×16 threads, each 2×2
 *    outputs, A and B staged through workgroup memory 8 words (32 k) at a time. Integer sums are exact
 *    (|Σ| ≤ 127·63·K < 2³¹ for K < 2¹⁸); no +64 offset is needed: dot4I8Packed takes two signed operands.
 *
 * Contract against the oracle (proofs-tests/kernels/int8.parity.test.ts): bit for bit while each row's
 * max|g| is a normal f32 whose 127/max and max/127 are normal (2⁻¹²⁰ < max|g| < 2¹²⁰; a row of zeros
 * too: codes 0, scale 0), given that the device rounds f32 ·, + and the i32 → f32 conversion to nearest
 * even (Vulkan requires it) and does not contract the epilogue's multiply and add into one fma. A
 * device that contracts them is off by at most half an ulp of the product f32(acc)·s: the parity test's
 * stated tolerance (it measures 0 on lavapipe). A row holding NaN or ±∞ (after the colMul product)
 * comes out NaN, as the oracle's; rows outside the normal range above are not promised.
 */
import { grid, ParamWriter, paramsWgsl, rowKernelMain, treeReduce, type Program } from './common.ts';
import { ROW_LEVELS } from '../../core/tensor/int8.ts';

/** The WGSL language feature the kernels need (navigator.gpu.wgslLanguageFeatures). */
export const INT8_WGSL_FEATURE = 'packed_4x8_integer_dot_product';
export const REFERENCE = 'core/tensor/int8.ts: int8ProductRef';

/** Words of packed codes per row of `inner` values. */
export const wordsOf = (inner: number): number => Math.ceil(inner / 4);

/** Packs codes [rows, inner] (read through `at`) into u32 words of four signed bytes, zero-padded. */
export function packCodes(rows: number, inner: number, at: (r: number, k: number) => number): Uint32Array {
  const W = wordsOf(inner),
    out = new Uint32Array(rows * W);
  for (let r = 0; r < rows; r++)
    for (let k = 0; k < inner; k++) out[r * W + (k >> 2)]! |= (at(r, k) & 0xff) << (8 * (k & 3));
  return out;
}

const QUANT_WG = 64;

/**
 * Correctly rounded a/b for positive normal f32 a, b: the mantissas' quotient by 25-step long division
 * (24 bits and a guard bit, the remainder as sticky bit), rounded to nearest even; +∞ on overflow, 0
 * below the normal range (outside the kernels' contract).
 */
const DIV_RN = `
fn div_rn(a: f32, b: f32) -> f32 {
  let ua = bitcast<u32>(a);
  let ub = bitcast<u32>(b);
  var ma = (ua & 0x7fffffu) | 0x800000u;
  let mb = (ub & 0x7fffffu) | 0x800000u;
  var e = i32((ua >> 23u) & 0xffu) - i32((ub >> 23u) & 0xffu) + 127;
  if (ma < mb) { ma = ma << 1u; e = e - 1; }
  var r = ma;
  var q = 0u;
  for (var i = 0u; i < 25u; i++) {
    q = q << 1u;
    if (r >= mb) { r = r - mb; q = q | 1u; }
    r = r << 1u;
  }
  var mant = q >> 1u;
  if ((q & 1u) == 1u && (r != 0u || (mant & 1u) == 1u)) { mant = mant + 1u; }
  if (mant == 0x1000000u) { mant = mant >> 1u; e = e + 1; }
  if (e >= 255) { return inf_f32(); }
  if (e <= 0) { return 0.0; }
  return bitcast<f32>((u32(e) << 23u) | (mant & 0x7fffffu));
}`;

/**
 * Quantizes x [M, inner] row by row into codes [M, wordsOf(inner)] (u32) and scales [M] (f32);
 * `colMul` binds a second f32 input [inner] that multiplies each column first (the data path's s_n).
 */
export function int8QuantRowsProgram(M: number, inner: number, colMul: boolean): Program {
  const key = `int8_quant_rows/${colMul ? 'colmul' : 'plain'}/wg${QUANT_WG}`;
  const g = colMul ? 'x[base + k] * cm[k]' : 'x[base + k]';
  const bindings = colMul
    ? `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> cm: array<f32>;
@group(0) @binding(2) var<storage, read_write> codes: array<u32>;
@group(0) @binding(3) var<storage, read_write> rowScale: array<f32>;
${paramsWgsl(4)}`
    : `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> codes: array<u32>;
@group(0) @binding(2) var<storage, read_write> rowScale: array<f32>;
${paramsWgsl(3)}`;
  const body = `
  let W = pu(2u);
  var mx = 0u;
  for (var k = lix; k < C; k += ${QUANT_WG}u) { mx = max(mx, bitcast<u32>(${g}) & 0x7fffffffu); }
  buf[lix] = mx;
  ${treeReduce('buf', QUANT_WG, (a, b) => `max(${a}, ${b})`)}
  mx = buf[0];
  let bad = mx >= 0x7f800000u;
  let zero = mx == 0u;
  let maxAbs = bitcast<f32>(mx);
  var inv = 0.0;
  if (!bad && !zero) { inv = div_rn(${ROW_LEVELS}.0, maxAbs); }
  if (lix == 0u) {
    var s = 0.0;
    if (bad) { s = nan_f32(); } else if (!zero) { s = div_rn(maxAbs, ${ROW_LEVELS}.0); }
    rowScale[row] = s;
  }
  for (var w = lix; w < W; w += ${QUANT_WG}u) {
    var word = 0u;
    if (!bad && !zero) {
      for (var j = 0u; j < 4u; j++) {
        let k = 4u * w + j;
        if (k < C) {
          let c = i32(round(${g} * inv));
          word = word | ((bitcast<u32>(c) & 0xffu) << (8u * j));
        }
      }
    }
    codes[row * W + w] = word;
  }`;
  return {
    name: 'int8_quant_rows',
    key,
    wgsl: () => `// ${key}
${bindings}
${DIV_RN}
${rowKernelMain(QUANT_WG, body, 'u32')}`,
    params: new ParamWriter().u(M, inner, wordsOf(inner)).done(),
    workgroups: grid(M),
  };
}

const TILE = 32;
const BKW = 8;

/** How the GEMM's epilogue scales and offsets each output. */
export interface Int8Epilogue {
  /** Forward: multiply by colScale[n] (the weight's s_n) too; the data path scales by the row's alone. */
  readonly colScale: boolean;
  readonly bias: boolean;
}

/**
 * y [M, outer] from codes A [M, W] and B [outer, W] (u32 words), rowScale [M], then colScale [outer]
 * and bias [outer] when the epilogue has them (bound in that order after B).
 */
export function int8GemmProgram(M: number, outer: number, W: number, ep: Int8Epilogue): Program {
  const key = `int8_gemm/${ep.colScale ? 'cs' : 'rs'}/${ep.bias ? 'bias' : 'nobias'}/t${TILE}k${BKW}`;
  const ins = ['a: array<u32>', 'b: array<u32>', 'rowScale: array<f32>'];
  if (ep.colScale) ins.push('colScale: array<f32>');
  if (ep.bias) ins.push('bias: array<f32>');
  const decl = ins.map((t, i) => `@group(0) @binding(${i}) var<storage, read> ${t};`).join('\n');
  const scale = ep.colScale ? 'rowScale[m] * colScale[n]' : 'rowScale[m]';
  const add = ep.bias ? 'bias[n]' : '0.0';
  const wgsl = () => `// ${key}
${decl}
@group(0) @binding(${ins.length}) var<storage, read_write> y: array<f32>;
${paramsWgsl(ins.length + 1)}
var<workgroup> As: array<array<u32, ${BKW}>, ${TILE}>;
var<workgroup> Bs: array<array<u32, ${BKW}>, ${TILE}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = pu(0u);
  let N = pu(1u);
  let W = pu(2u);
  let m0 = wid.y * ${TILE}u;
  let n0 = wid.x * ${TILE}u;
  let t = lid.y * 16u + lid.x;
  // each thread stages one word of A and one of B per slice: row t / ${BKW}, word t % ${BKW}
  let lr = t / ${BKW}u;
  let lw = t % ${BKW}u;
  var acc: array<i32, 4>;
  for (var w0 = 0u; w0 < W; w0 += ${BKW}u) {
    let gw = w0 + lw;
    var av = 0u;
    if (m0 + lr < M && gw < W) { av = a[(m0 + lr) * W + gw]; }
    As[lr][lw] = av;
    var bv = 0u;
    if (n0 + lr < N && gw < W) { bv = b[(n0 + lr) * W + gw]; }
    Bs[lr][lw] = bv;
    workgroupBarrier();
    for (var kw = 0u; kw < ${BKW}u; kw++) {
      let a0 = As[lid.y][kw];
      let a1 = As[lid.y + 16u][kw];
      let b0 = Bs[lid.x][kw];
      let b1 = Bs[lid.x + 16u][kw];
      acc[0] += dot4I8Packed(a0, b0);
      acc[1] += dot4I8Packed(a0, b1);
      acc[2] += dot4I8Packed(a1, b0);
      acc[3] += dot4I8Packed(a1, b1);
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 2u; i++) {
    let m = m0 + lid.y + 16u * i;
    if (m >= M) { continue; }
    let rs = bitcast<u32>(rowScale[m]) & 0x7fffffffu;
    for (var j = 0u; j < 2u; j++) {
      let n = n0 + lid.x + 16u * j;
      if (n >= N) { continue; }
      if (rs > 0x7f800000u) { y[m * N + n] = nan_f32(); continue; }
      let s = ${scale};
      let p = f32(acc[2u * i + j]) * s;
      y[m * N + n] = p + ${add};
    }
  }
}`;
  return {
    name: 'int8_gemm',
    key,
    wgsl,
    params: new ParamWriter().u(M, outer, W).done(),
    workgroups: [Math.ceil(outer / TILE), Math.ceil(M / TILE), 1],
  };
}
