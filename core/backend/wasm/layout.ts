/** Host-side index arithmetic of the WASM backend: how work is split into chunks and how broadcast operands map to rows. */
import type { TensorRef } from '../backend.ts';
import { broadcastStrides, sizeOf, stridesOf, type Shape } from '../../tensor/shape.ts';

/** What the backend lends host-side kernel drivers: operand pointers, scratch, the chunk count, the pool. */
export interface KernelHost<K extends string> {
  /** The heap as i32 (a getter: growing the memory replaces the buffer). */
  readonly i32: Int32Array;
  input(r: TensorRef): number;
  scratch(bytes: number): number;
  /** How many chunks `elems` of work over `rows` rows is split into. */
  chunks(elems: number, rows: number): number;
  run(fn: K, chunks: readonly (readonly number[])[]): void;
}

/** One argument vector per chunk t of nc, over rows [lo, hi) of R. */
export const rowSplit = (R: number, nc: number, args: (lo: number, hi: number, t: number) => number[]): number[][] =>
  Array.from({ length: nc }, (_, t) => args(Math.floor((R * t) / nc), Math.floor((R * (t + 1)) / nc), t));

/** Share t of n elements split nt ways, boundaries on multiples of 4 (whole v128s). */
export const chunk = (n: number, t: number, nt: number): number =>
  t >= nt ? n : Math.min(n, Math.floor((n * t) / nt / 4) * 4);

/**
 * A broadcast binary op as rows: adjacent axes merge while both operands stay affine across them,
 * so the last (merged) axis has length n and inner strides 0 or 1; `offsets` holds (a, b) start
 * offsets per row.
 */
export function broadcastRows(out: Shape, aShape: Shape, bShape: Shape) {
  const sa = broadcastStrides(aShape, out),
    sb = broadcastStrides(bShape, out);
  const dims: { d: number; a: number; b: number }[] = [];
  out.forEach((d, i) => {
    if (d === 1) return;
    const last = dims.at(-1);
    if (last && last.a === sa[i]! * d && last.b === sb[i]! * d) {
      last.d *= d;
      last.a = sa[i]!;
      last.b = sb[i]!;
    } else dims.push({ d, a: sa[i]!, b: sb[i]! });
  });
  const inner = dims.pop() ?? { d: 1, a: 1, b: 1 };
  const rows = dims.reduce((acc, x) => acc * x.d, 1);
  const offsets = new Int32Array(2 * rows);
  const idx = new Array<number>(dims.length).fill(0);
  let oa = 0,
    ob = 0;
  for (let r = 0; r < rows; r++) {
    offsets[2 * r] = oa;
    offsets[2 * r + 1] = ob;
    for (let ax = dims.length - 1; ax >= 0; ax--) {
      // odometer
      const dm = dims[ax]!;
      oa += dm.a;
      ob += dm.b;
      if (++idx[ax]! < dm.d) break;
      oa -= dm.a * dm.d;
      ob -= dm.b * dm.d;
      idx[ax] = 0;
    }
  }
  // a length-1 inner axis: any stride reads the one element
  return { rows, n: inner.d, inner: [inner.d === 1 ? 1 : inner.a, inner.d === 1 ? 1 : inner.b], offsets };
}

/** Element offset of each output batch into an operand whose batch dims broadcast to `batch`. */
export function batchOffsets(opShape: Shape, batch: Shape, matSize: number): Int32Array {
  const own = opShape.slice(0, -2),
    st = stridesOf(own),
    off = batch.length - own.length;
  const n = sizeOf(batch),
    bst = stridesOf(batch);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let o = 0;
    for (let ax = 0; ax < batch.length; ax++) {
      const j = ax - off;
      if (j >= 0 && own[j] !== 1) o += (Math.floor(i / bst[ax]!) % batch[ax]!) * st[j]!;
    }
    out[i] = o * matSize;
  }
  return out;
}
