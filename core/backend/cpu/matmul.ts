/** CPU reference batched matmul (i-k-j loop order, f64 row accumulator), with transposed operands. */
import type { MatmulOptions } from '../backend.ts';
import { allocArray, type AnyTypedArray, type DType } from '../../tensor/dtype.ts';
import { sizeOf, stridesOf, type Shape } from '../../tensor/shape.ts';

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

export function matmulRef(a: AnyTypedArray, aShape: Shape, b: AnyTypedArray, bShape: Shape, o: MatmulOptions, outShape: Shape, dtype: DType): AnyTypedArray {
  const M = outShape.at(-2)!;
  const N = outShape.at(-1)!;
  const K = o.transA ? aShape.at(-2)! : aShape.at(-1)!;
  const batch = outShape.slice(0, -2);
  const out = allocArray(dtype, sizeOf(outShape));
  const aOff = batchOffsets(aShape, batch, M * K);
  const bOff = batchOffsets(bShape, batch, K * N);
  // element (i, k) of op(A) and (k, j) of op(B)
  const aRow = o.transA ? 1 : K, aCol = o.transA ? M : 1;
  const bRow = o.transB ? 1 : N, bCol = o.transB ? K : 1;
  const acc = new Float64Array(N);
  const bT = o.transB ? new Float64Array(K * N) : undefined;
  for (let p = 0; p < aOff.length; p++) {
    const ab = aOff[p]!, bb = bOff[p]!, ob = p * M * N;
    let bData: ArrayLike<number> = b, bBase = bb;
    if (bT) { // materialise B^T once per batch so the inner loop is unit-stride
      for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) bT[k * N + j] = b[bb + k * bRow + j * bCol]!;
      bData = bT; bBase = 0;
    }
    for (let i = 0; i < M; i++) {
      acc.fill(0);
      for (let k = 0; k < K; k++) {
        const av = a[ab + i * aRow + k * aCol]!;
        if (av === 0) continue;
        const rb = bBase + k * N;
        for (let j = 0; j < N; j++) acc[j]! += av * bData[rb + j]!;
      }
      for (let j = 0; j < N; j++) out[ob + i * N + j] = acc[j]!;
    }
  }
  return out;
}
