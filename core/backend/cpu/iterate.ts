/** Strided index iteration used by the broadcasting and data-movement kernels. */
import type { Shape } from '../../tensor/shape.ts';

/**
 * Calls `inner(outOffset, offs, n, innerStrides)` once per run of the last axis: `offs[k]` is the
 * starting element offset of operand k and `innerStrides[k]` its step along the last axis.
 * Row-major over `shape`; operand k is read with `strides[k]` (0 on broadcast axes).
 */
export function forEachRow(
  shape: Shape,
  strides: readonly (readonly number[])[],
  inner: (outOffset: number, offs: Int32Array | number[], n: number, innerStrides: readonly number[]) => void,
): void {
  const rank = shape.length;
  const k = strides.length;
  if (rank === 0) {
    inner(0, new Array<number>(k).fill(0), 1, new Array<number>(k).fill(0));
    return;
  }
  const n = shape[rank - 1]!;
  if (n === 0 || shape.some((d) => d === 0)) return;
  const innerStrides = strides.map((s) => s[rank - 1]!);
  const idx = new Array<number>(rank - 1).fill(0);
  const offs = new Array<number>(k).fill(0);
  let out = 0;
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  for (let r = 0; r < rows; r++) {
    inner(out, offs, n, innerStrides);
    out += n;
    // odometer increment over the leading axes
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]!++;
      for (let j = 0; j < k; j++) offs[j]! += strides[j]![ax]!;
      if (idx[ax]! < shape[ax]!) break;
      for (let j = 0; j < k; j++) offs[j]! -= strides[j]![ax]! * shape[ax]!;
      idx[ax] = 0;
    }
  }
}
