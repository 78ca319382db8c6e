/** Naive numpy-broadcast references (index arithmetic only), to hold the kernels to. */
import type { TensorSpec } from './arbitraries.ts';

export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const r = Math.max(0, ...shapes.map((s) => s.length));
  return Array.from({ length: r }, (_, i) => Math.max(1, ...shapes.map((s) => s[s.length - r + i] ?? 1)));
}

/** Reads `s` at the multi-index `idx` of the broadcast result shape. */
export function at(s: TensorSpec, idx: readonly number[]): number {
  const off = idx.length - s.shape.length;
  let flat = 0;
  s.shape.forEach((d, i) => {
    flat = flat * d + (d === 1 ? 0 : idx[off + i]!);
  });
  return s.values[flat]!;
}

/** Calls fn with every multi-index of `shape` in row-major order. */
export function forEachIndex(shape: readonly number[], fn: (idx: number[], flat: number) => void): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    fn(idx, k);
    for (let ax = shape.length - 1; ax >= 0; ax--) {
      if (++idx[ax]! < shape[ax]!) break;
      idx[ax] = 0;
    }
  }
}

/** out[i] = fn(operands at i) over the broadcast shape. */
export function broadcastRef(specs: readonly TensorSpec[], fn: (...v: number[]) => number): Float64Array {
  const shape = broadcastShape(...specs.map((s) => s.shape));
  const out = new Float64Array(shape.reduce((a, b) => a * b, 1));
  forEachIndex(shape, (idx, k) => {
    out[k] = fn(...specs.map((s) => at(s, idx)));
  });
  return out;
}
