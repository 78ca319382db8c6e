/**
 * Batched matmul C = op(A)·op(B) with all four transpose variants generated as index expressions
 * (so the backward never materialises a transpose) and numpy-broadcast batch axes (per-axis batch
 * strides in Params, 0 where an operand is broadcast).
 *
 * v1 'naive': one thread per output, K loop from global memory — kept as the parity anchor.
 * v2 'tiled': BM×BN output tile per workgroup staged through workgroup memory in BK slices, each
 * thread holding a TM×TN register block; every load is bounds-checked so any M, N, K works.
 * Tile sizes follow the adapter (workgroup storage, invocations).
 *
 * A Linear layer's bias (MatmulOptions.bias, [N]) is added as each output is stored: one dispatch.
 *
 * Either operand may be read from f16 storage (`Operands`, frozen weights; needs the adapter feature
 * shader-f16 for `enable f16`): each element is widened to f32 as it is loaded, so tiles, registers
 * and accumulation stay f32 and both versions keep their structure — only the load expression and the
 * binding type change.
 *
 * Answers to core/backend/cpu/matmul.ts matmulRef (f64 accumulation): f32 here, so the tolerance
 * grows with K: atol = 1e-6·√K·(Σ|a||b| scale ≈ 1 for unit inputs), rtol 1e-5. The f16 variant
 * keeps that tolerance: both sides read the same halves (the CPU reference stores f16 as exact halves),
 * and a half widens to f32 exactly, so what is left is the f32 products and accumulation order.
 */
import type { MatmulOptions } from '../../core/backend/backend.ts';
import { ParamWriter, paramsWgsl, type Program, type Tol } from './common.ts';

export const REFERENCE = 'core/backend/cpu/matmul.ts: matmulRef';
export const tolFor = (K: number): Tol => ({ atol: 2e-6 * Math.sqrt(Math.max(K, 1)) + 1e-6, rtol: 1e-5 });

const MAX_BATCH_DIMS = 6;
const MAX_Z = 65535;

export interface Tile {
  readonly BM: number;
  readonly BN: number;
  readonly BK: number;
  readonly TM: number;
  readonly TN: number;
}
export const TILE_64: Tile = { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 };
export const TILE_32: Tile = { BM: 32, BN: 32, BK: 8, TM: 4, TN: 4 };

/** The largest tile the adapter's workgroup storage and invocation limits allow. */
export function tileFor(limits: {
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
}): Tile {
  const fits = (t: Tile) =>
    4 * t.BK * (t.BM + t.BN) <= limits.maxComputeWorkgroupStorageSize &&
    (t.BM / t.TM) * (t.BN / t.TN) <= limits.maxComputeInvocationsPerWorkgroup;
  return fits(TILE_64) ? TILE_64 : TILE_32;
}

/** Storage type of each operand; the output and every sum are f32. */
export interface Operands {
  readonly a: 'f32' | 'f16';
  readonly b: 'f32' | 'f16';
}
export const F32_OPERANDS: Operands = { a: 'f32', b: 'f32' };

export interface MatmulShapes {
  readonly aShape: readonly number[];
  readonly bShape: readonly number[];
  readonly outShape: readonly number[];
}

/** Params: M, N, K, batchRank, batchShape[6], aBatchStride[6], bBatchStride[6] (element strides). */
function params(
  { aShape, bShape, outShape }: MatmulShapes,
  o: MatmulOptions,
): { words: Uint32Array; M: number; N: number; batch: number } {
  const M = outShape.at(-2)!,
    N = outShape.at(-1)!;
  const K = o.transA ? aShape.at(-2)! : aShape.at(-1)!;
  const batchShape = outShape.slice(0, -2);
  if (batchShape.length > MAX_BATCH_DIMS)
    throw new RangeError(`matmul: ${batchShape.length} batch axes exceed ${MAX_BATCH_DIMS}`);
  const strides = (own: readonly number[], mat: number): number[] => {
    const off = batchShape.length - own.length;
    const st = new Array<number>(batchShape.length).fill(0);
    let acc = mat;
    for (let ax = batchShape.length - 1; ax >= off; ax--) {
      const d = own[ax - off]!;
      st[ax] = d === 1 ? 0 : acc;
      acc *= d;
    }
    return st;
  };
  const words = new ParamWriter()
    .u(M, N, K, batchShape.length)
    .fixed(batchShape, MAX_BATCH_DIMS, 1)
    .fixed(strides(aShape.slice(0, -2), M * K), MAX_BATCH_DIMS)
    .fixed(strides(bShape.slice(0, -2), K * N), MAX_BATCH_DIMS)
    .done();
  const batch = batchShape.reduce((a, b) => a * b, 1);
  if (batch > MAX_Z) throw new RangeError(`matmul: ${batch} batch matrices exceed the ${MAX_Z} dispatch limit`);
  return { words, M, N, batch };
}

/** Bindings a, b, [bias,] c, params: the runtime binds inputs, then outputs, then the params. */
const HEADER = (key: string, t: Operands, bias: boolean) => `// ${key}
${t.a === 'f16' || t.b === 'f16' ? 'enable f16;' : ''}
@group(0) @binding(0) var<storage, read> a: array<${t.a}>;
@group(0) @binding(1) var<storage, read> b: array<${t.b}>;
${bias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${bias ? 3 : 2}) var<storage, read_write> c: array<f32>;
${paramsWgsl(bias ? 4 : 3)}
// element offsets of batch matrix z in a and b (broadcast axes have stride 0)
fn batch_offsets(z: u32) -> vec2<u32> {
  var rem = z; var oa = 0u; var ob = 0u;
  for (var d = pu(3u); d > 0u; d--) {
    let ax = d - 1u;
    let i = rem % pu(4u + ax);
    rem = rem / pu(4u + ax);
    oa += i * pu(${4 + MAX_BATCH_DIMS}u + ax);
    ob += i * pu(${4 + 2 * MAX_BATCH_DIMS}u + ax);
  }
  return vec2<u32>(oa, ob);
}`;

// a half is widened to f32 at the load (exact); f32(x) of an f32 is the identity, so no branch here
const aAt = (o: MatmulOptions, i: string, k: string) =>
  o.transA ? `f32(a[off.x + ${k} * M + ${i}])` : `f32(a[off.x + ${i} * K + ${k}])`;
const bAt = (o: MatmulOptions, k: string, j: string) =>
  o.transB ? `f32(b[off.y + ${j} * K + ${k}])` : `f32(b[off.y + ${k} * N + ${j}])`;
const tkey = (o: MatmulOptions, t: Operands) =>
  `${o.transA ? 'T' : 'N'}${o.transB ? 'T' : 'N'}${t.a === 'f16' || t.b === 'f16' ? `/${t.a}x${t.b}` : ''}${o.bias ? '/bias' : ''}`;
/** The stored value of output column j: the sum, plus the bias when there is one (MatmulOptions.bias). */
const withBias = (o: MatmulOptions, sum: string, j: string) => (o.bias ? `${sum} + bias[${j}]` : sum);

/** v1: one thread per output element. */
export function matmulNaiveProgram(shapes: MatmulShapes, o: MatmulOptions, types: Operands = F32_OPERANDS): Program {
  const p = params(shapes, o);
  const key = `matmul/naive/${tkey(o, types)}`;
  const wgsl = () => `${HEADER(key, types, !!o.bias)}
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let i = gid.y; let j = gid.x; let z = gid.z;
  if (i >= M || j >= N) { return; }
  let off = batch_offsets(z);
  var acc = 0.0;
  for (var k = 0u; k < K; k++) { acc = fma(${aAt(o, 'i', 'k')}, ${bAt(o, 'k', 'j')}, acc); }
  c[z * M * N + i * N + j] = ${withBias(o, 'acc', 'j')};
}`;
  return {
    name: 'matmul(naive)',
    key,
    wgsl,
    params: p.words,
    workgroups: [Math.ceil(p.N / 8), Math.ceil(p.M / 8), p.batch],
  };
}

/** v2: shared-memory tiles + TM×TN register blocking, bounds-checked edges. */
export function matmulTiledProgram(
  shapes: MatmulShapes,
  o: MatmulOptions,
  t: Tile = TILE_64,
  types: Operands = F32_OPERANDS,
): Program {
  if (t.BM % t.TM || t.BN % t.TN || t.TN !== 4)
    throw new RangeError(
      `matmul tile ${JSON.stringify(t)}: BM%TM and BN%TN must be 0, TN must be 4 (vec4 accumulators)`,
    );
  const p = params(shapes, o);
  const { BM, BN, BK, TM, TN } = t;
  const WX = BN / TN,
    WY = BM / TM,
    THREADS = WX * WY;
  const key = `matmul/tiled/${tkey(o, types)}/${BM}x${BN}x${BK}/${TM}x${TN}`;
  // load order follows each operand's contiguous axis
  const aIdx = o.transA ? `let i = e % ${BM}u; let k = e / ${BM}u;` : `let k = e % ${BK}u; let i = e / ${BK}u;`;
  const bIdx = o.transB ? `let k = e % ${BK}u; let j = e / ${BK}u;` : `let j = e % ${BN}u; let k = e / ${BN}u;`;
  const wgsl = () => `${HEADER(key, types, !!o.bias)}
var<workgroup> a_tile: array<f32, ${BK * BM}>;
var<workgroup> b_tile: array<f32, ${BK * BN}>;
@compute @workgroup_size(${WX}, ${WY}, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) lix: u32) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let z = wid.z;
  let off = batch_offsets(z);
  let row0 = wid.y * ${BM}u; let col0 = wid.x * ${BN}u;
  var acc: array<vec4<f32>, ${TM}>;
  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {
    for (var e = lix; e < ${BM * BK}u; e += ${THREADS}u) {
      ${aIdx}
      let gi = row0 + i; let gk = k0 + k;
      var v = 0.0;
      if (gi < M && gk < K) { v = ${aAt(o, 'gi', 'gk')}; }
      a_tile[k * ${BM}u + i] = v;
    }
    for (var e = lix; e < ${BN * BK}u; e += ${THREADS}u) {
      ${bIdx}
      let gj = col0 + j; let gk = k0 + k;
      var v = 0.0;
      if (gj < N && gk < K) { v = ${bAt(o, 'gk', 'gj')}; }
      b_tile[k * ${BN}u + j] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < ${BK}u; k++) {
      let bo = k * ${BN}u + lid.x * 4u;
      let bv = vec4<f32>(b_tile[bo], b_tile[bo + 1u], b_tile[bo + 2u], b_tile[bo + 3u]);
      for (var r = 0u; r < ${TM}u; r++) { acc[r] = fma(vec4<f32>(a_tile[k * ${BM}u + lid.y * ${TM}u + r]), bv, acc[r]); }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < ${TM}u; r++) {
    let gi = row0 + lid.y * ${TM}u + r;
    for (var q = 0u; q < 4u; q++) {
      let gj = col0 + lid.x * 4u + q;
      if (gi < M && gj < N) { c[z * M * N + gi * N + gj] = ${withBias(o, 'acc[r][q]', 'gj')}; }
    }
  }
}`;
  return {
    name: 'matmul(tiled)',
    key,
    wgsl,
    params: p.words,
    workgroups: [Math.ceil(p.N / BN), Math.ceil(p.M / BM), p.batch],
  };
}
