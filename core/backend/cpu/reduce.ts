/** CPU reference reductions over any set of axes, and argmax. Sums accumulate in f64. */
import type { ReduceOp } from '../backend.ts';
import { allocArray, type AnyTypedArray, type DType } from '../../tensor/dtype.ts';
import { sizeOf, stridesOf, type Shape } from '../../tensor/shape.ts';
import { forEachRow } from './iterate.ts';

/** Reduces x over `axes` by permuting them last (as a strided walk) and folding each run. */
export function reduceRef(
  op: ReduceOp,
  x: AnyTypedArray,
  shape: Shape,
  axes: readonly number[],
  dtype: DType,
): AnyTypedArray {
  const keep = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const outShape = keep.map((i) => shape[i]!);
  const redShape = axes.map((i) => shape[i]!);
  const st = stridesOf(shape);
  const outN = sizeOf(outShape);
  const redN = sizeOf(redShape);
  const out = allocArray(dtype, outN);
  if (axes.length === 0) {
    out.set(x);
    return out;
  }
  if (redN === 0) {
    if (op !== 'sum') throw new Error(`reduce ${op}: cannot reduce an empty axis of shape [${shape.join(', ')}]`);
    return out;
  }
  const init = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
  const acc = new Float64Array(outN).fill(init);
  const walkShape = [...outShape, ...redShape];
  const walkStrides = [...keep.map((i) => st[i]!), ...axes.map((i) => st[i]!)];
  const outStrides = [...stridesOf(outShape), ...redShape.map(() => 0)];
  forEachRow(walkShape, [walkStrides, outStrides], (_o, offs, len, inner) => {
    let ix = offs[0]!;
    const io = offs[1]!;
    const dx = inner[0]!;
    let a = acc[io]!;
    if (op === 'sum') for (let j = 0; j < len; j++, ix += dx) a += x[ix]!;
    else if (op === 'max')
      for (let j = 0; j < len; j++, ix += dx) {
        const v = x[ix]!;
        if (v > a || v !== v) a = v;
      }
    else
      for (let j = 0; j < len; j++, ix += dx) {
        const v = x[ix]!;
        if (v < a || v !== v) a = v;
      }
    acc[io] = a;
  });
  out.set(acc);
  return out;
}

export function argmaxRef(x: AnyTypedArray, shape: Shape, axis: number): Int32Array {
  const outer = sizeOf(shape.slice(0, axis));
  const n = shape[axis]!;
  const inner = sizeOf(shape.slice(axis + 1));
  const out = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = -Infinity,
        arg = 0;
      for (let k = 0; k < n; k++) {
        const v = x[(o * n + k) * inner + i]!;
        if (v !== v) {
          arg = k;
          break;
        } // NaN is the maximum (numpy / torch)
        if (v > best) {
          best = v;
          arg = k;
        }
      }
      out[o * inner + i] = arg;
    }
  }
  return out;
}
