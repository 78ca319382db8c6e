/**
 * f32 strided gather (permute / expand / slice) as row copies: axes are merged while the source
 * stays affine across them. When the last (merged) axis is contiguous and the copy is large, the
 * rows move in WASM (`copy_rows`) across the pool: attention's head split / merge permutes copy
 * rows of only Dh = 64 floats, where one TypedArray.set per row costs more in call overhead than
 * the 256 bytes it moves. Otherwise (small, broadcast or strided last axis, a source outside the
 * heap) the TypeScript loop below does it.
 */
import type { Shape } from '../../tensor/shape.ts';
import { Fn, I32, O } from './encoder.ts';
import { rowSplit, type KernelHost } from './layout.ts';

interface Plan {
  readonly dims: readonly { d: number; s: number }[];
  readonly rows: number;
  readonly n: number;
  readonly st: number;
}

function plan(shape: Shape, strides: readonly number[]): Plan {
  const dims: { d: number; s: number }[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const last = dims.at(-1);
    if (last && last.s === strides[i]! * d) {
      last.d *= d;
      last.s = strides[i]!;
    } else dims.push({ d, s: strides[i]! });
  });
  const inner = dims.pop() ?? { d: 1, s: 1 };
  return { dims, rows: dims.reduce((a, x) => a * x.d, 1), n: inner.d, st: inner.s };
}

/** Calls row(r, src) with each row's source element offset (an odometer over the outer axes). */
function eachRow({ dims, rows }: Plan, offset: number, row: (r: number, src: number) => void): void {
  const idx = new Array<number>(dims.length).fill(0);
  let src = offset;
  for (let r = 0; r < rows; r++) {
    row(r, src);
    for (let ax = dims.length - 1; ax >= 0; ax--) {
      const dm = dims[ax]!;
      src += dm.s;
      if (++idx[ax]! < dm.d) break;
      src -= dm.s * dm.d;
      idx[ax] = 0;
    }
  }
}

/** The heap side of a copy the kernel may do: the source's and output's byte pointers. */
export interface HeapCopy {
  readonly host: KernelHost<'copy_rows'>;
  readonly srcP: number;
  readonly outP: number;
}

export function stridedCopy(
  x: Float32Array,
  out: Float32Array,
  shape: Shape,
  strides: readonly number[],
  offset: number,
  heap?: HeapCopy,
): void {
  const p = plan(shape, strides),
    { rows, n, st } = p;
  if (heap && st === 1 && rows > 1) {
    const offP = heap.host.scratch(4 * rows),
      offs = new Int32Array(rows);
    eachRow(p, offset, (r, src) => {
      offs[r] = src;
    });
    heap.host.i32.set(offs, offP >>> 2);
    heap.host.run(
      'copy_rows',
      rowSplit(rows, heap.host.chunks(rows * n, rows), (lo, hi) => [heap.srcP, heap.outP, offP, n, lo, hi]),
    );
    return;
  }
  eachRow(p, offset, (r, src) => {
    const o = r * n;
    if (st === 1) out.set(x.subarray(src, src + n), o);
    else if (st === 0) out.fill(x[src]!, o, o + n);
    else for (let j = 0, s = src; j < n; j++, s += st) out[o + j] = x[s]!;
  });
}

/** copy_rows(srcP, dstP, offP, n, rowStart, rowEnd): dst row r (n floats, contiguous) = src[off[r] …]. */
export function copyRowsFn(): Fn {
  const f = new Fn('copy_rows', new Array(6).fill(I32));
  const [srcP, dstP, offP, n, rowStart, rowEnd] = [0, 1, 2, 3, 4, 5] as const;
  const r = f.local(I32),
    j = f.local(I32),
    nb = f.local(I32),
    nvb = f.local(I32),
    ps = f.local(I32),
    pd = f.local(I32);
  f.get(n).i32(2).op(O.i32Shl).set(nb);
  f.get(nb).i32(-16).op(O.i32And).set(nvb);
  f.for(
    r,
    () => f.get(rowStart),
    rowEnd,
    1,
    () => {
      f.get(srcP)
        .get(offP)
        .get(r)
        .i32(2)
        .op(O.i32Shl)
        .op(O.i32Add)
        .load(O.i32Load)
        .i32(2)
        .op(O.i32Shl)
        .op(O.i32Add)
        .set(ps);
      f.get(dstP).get(r).get(nb).op(O.i32Mul).op(O.i32Add).set(pd);
      f.for(
        j,
        () => f.i32(0),
        nvb,
        16,
        () => {
          f.get(pd).get(j).op(O.i32Add).get(ps).get(j).op(O.i32Add).vload().vstore();
        },
      );
      f.for(
        j,
        () => f.get(nvb),
        nb,
        4,
        () => {
          f.get(pd).get(j).op(O.i32Add).get(ps).get(j).op(O.i32Add).load(O.f32Load).load(O.f32Store);
        },
      );
    },
  );
  return f;
}
