/**
 * CPU reference batched matmul. Each batch's op(A) [M, K] and op(B) [K, N] are packed into
 * Float64Arrays first: the hot loop then sees one array type (monomorphic, so V8 keeps it fast
 * whatever the operand dtypes and transposes) and accumulates in f64. i-k-j order over column
 * blocks of B so a [K, NB] panel stays in cache.
 */
import type { MatmulOptions } from '../backend.ts';
import { allocArray, type AnyTypedArray, type DType } from '../../tensor/dtype.ts';
import { sizeOf, stridesOf, type Shape } from '../../tensor/shape.ts';

const NB = 256;

/** Offset of each output batch into an operand whose batch dims broadcast to `batch`. */
function batchOffsets(opShape: Shape, batch: Shape, matSize: number): number[] {
  const own = opShape.slice(0, -2);
  const st = stridesOf(own);
  const off = batch.length - own.length;
  const n = sizeOf(batch);
  const out = new Array<number>(n);
  const bst = stridesOf(batch);
  for (let i = 0; i < n; i++) {
    let o = 0;
    for (let ax = 0; ax < batch.length; ax++) {
      const idx = Math.floor(i / bst[ax]!) % batch[ax]!;
      const j = ax - off;
      if (j >= 0 && own[j] !== 1) o += idx * st[j]!;
    }
    out[i] = o * matSize;
  }
  return out;
}

/** Copies a (possibly transposed) rows×cols view starting at `base` into dst, row-major. */
function pack(
  dst: Float64Array,
  src: AnyTypedArray,
  base: number,
  rows: number,
  cols: number,
  transposed: boolean,
): void {
  if (!transposed) {
    for (let i = 0; i < rows * cols; i++) dst[i] = src[base + i]!;
    return;
  }
  // stored as [cols, rows]
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[r * cols + c] = src[base + c * rows + r]!;
}

/** acc [M, N] = A [M, K] · B [K, N], all packed f64. */
function gemm(acc: Float64Array, A: Float64Array, B: Float64Array, M: number, K: number, N: number): void {
  acc.fill(0, 0, M * N);
  for (let j0 = 0; j0 < N; j0 += NB) {
    const j1 = Math.min(N, j0 + NB);
    for (let i = 0; i < M; i++) {
      const ro = i * N,
        ra = i * K;
      for (let k = 0; k < K; k++) {
        const av = A[ra + k]!;
        if (av === 0) continue;
        const rb = k * N;
        for (let j = j0; j < j1; j++) acc[ro + j]! += av * B[rb + j]!;
      }
    }
  }
}

/** `bias` (MatmulOptions.bias's data, [N]) is added to the f64 sums before they are rounded. */
export function matmulRef(
  a: AnyTypedArray,
  aShape: Shape,
  b: AnyTypedArray,
  bShape: Shape,
  o: MatmulOptions,
  outShape: Shape,
  dtype: DType,
  bias?: AnyTypedArray,
): AnyTypedArray {
  const M = outShape.at(-2)!;
  const N = outShape.at(-1)!;
  const K = o.transA ? aShape.at(-2)! : aShape.at(-1)!;
  const batch = outShape.slice(0, -2);
  const out = allocArray(dtype, sizeOf(outShape));
  const aOff = batchOffsets(aShape, batch, M * K);
  const bOff = batchOffsets(bShape, batch, K * N);
  const A = new Float64Array(M * K),
    B = new Float64Array(K * N),
    acc = new Float64Array(M * N);
  let lastA = -1,
    lastB = -1;
  for (let p = 0; p < aOff.length; p++) {
    // broadcast operands are packed once and reused across batches
    if (aOff[p] !== lastA) {
      pack(A, a, aOff[p]!, M, K, o.transA);
      lastA = aOff[p]!;
    }
    if (bOff[p] !== lastB) {
      pack(B, b, bOff[p]!, K, N, o.transB);
      lastB = bOff[p]!;
    }
    gemm(acc, A, B, M, K, N);
    if (bias) for (let i = 0; i < M * N; i++) acc[i]! += bias[i % N]!;
    out.set(acc, p * M * N);
  }
  return out;
}
