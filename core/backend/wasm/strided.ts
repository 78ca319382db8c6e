/**
 * f32 strided gather (permute / expand / slice) as row copies: axes are merged while the source
 * stays affine across them, and a unit-stride last axis is copied with TypedArray.set (a memcpy)
 * instead of the reference's per-element callback loop. Pure TypeScript: a copy has nothing for SIMD
 * arithmetic to speed up.
 */
import type { Shape } from '../../tensor/shape.ts';

export function stridedCopy(x: Float32Array, out: Float32Array, shape: Shape, strides: readonly number[], offset: number): void {
  const dims: { d: number; s: number }[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const last = dims.at(-1);
    if (last && last.s === strides[i]! * d) { last.d *= d; last.s = strides[i]!; } else dims.push({ d, s: strides[i]! });
  });
  const inner = dims.pop() ?? { d: 1, s: 1 };
  const rows = dims.reduce((a, x) => a * x.d, 1);
  const n = inner.d, st = inner.s;
  const idx = new Array<number>(dims.length).fill(0);
  let src = offset;
  for (let r = 0, o = 0; r < rows; r++, o += n) {
    if (st === 1) out.set(x.subarray(src, src + n), o);
    else if (st === 0) out.fill(x[src]!, o, o + n);
    else for (let j = 0, s = src; j < n; j++, s += st) out[o + j] = x[s]!;
    for (let ax = dims.length - 1; ax >= 0; ax--) { // odometer over the outer axes
      const dm = dims[ax]!;
      src += dm.s;
      if (++idx[ax]! < dm.d) break;
      src -= dm.s * dm.d; idx[ax] = 0;
    }
  }
}
