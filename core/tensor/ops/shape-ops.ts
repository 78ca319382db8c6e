/** Data-movement primitives: reshape, permute, broadcast, slice, pad, concat (VJPs in vjp-rules.ts). */
import {
  assertValidShape,
  broadcastShapes,
  broadcastStrides,
  fmt,
  inferReshape,
  normalizeAxis,
  shapeEq,
  ShapeError,
  stridesOf,
  type Shape,
} from '../shape.ts';
import type { AnyTensor, Tensor } from '../tensor.ts';
import { backendOf, bind } from './bind.ts';

/** Metadata-only (storage shared); one -1 is inferred. Keeps the dtype, f16 included. */
export function reshape<T extends AnyTensor = Tensor>(x: T, shape: Shape): T {
  const bk = backendOf('reshape', [x]);
  const to = inferReshape('reshape', x.shape, shape);
  bk.incRef(x.id);
  return bind('reshape', [x], to, { id: x.id, shape: to, dtype: x.dtype }) as T;
}

export function invertPermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const bk = backendOf('permute', [x]);
  const norm = perm.map((p) => normalizeAxis('permute', p, x.rank));
  if (perm.length !== x.rank || new Set(norm).size !== norm.length) {
    throw new ShapeError(`permute: [${perm.join(', ')}] is not a permutation of the ${x.rank} axes of ${fmt(x.shape)}`);
  }
  const st = stridesOf(x.shape);
  const shape = norm.map((p) => x.shape[p]!);
  if (norm.every((p, i) => p === i)) return reshape(x, x.shape);
  return bind('permute', [x], norm, {
    id: bk.strided(
      x,
      shape,
      norm.map((p) => st[p]!),
      0,
    ),
    shape,
    dtype: x.dtype,
  });
}

/** Swaps two axes (default: the last two). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const perm = x.shape.map((_, i) => i);
  const i = normalizeAxis('transpose', a, x.rank),
    j = normalizeAxis('transpose', b, x.rank);
  [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  return permute(x, perm);
}

export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const bk = backendOf('broadcastTo', [x]);
  assertValidShape('broadcastTo', shape);
  const out = broadcastShapes('broadcastTo', x.shape, shape);
  if (!shapeEq(out, shape)) throw new ShapeError(`broadcastTo: ${fmt(x.shape)} cannot be broadcast to ${fmt(shape)}`);
  if (shapeEq(x.shape, shape)) return reshape(x, shape);
  return bind('broadcastTo', [x], shape, {
    id: bk.strided(x, shape, broadcastStrides(x.shape, shape), 0),
    shape,
    dtype: x.dtype,
  });
}

/** x[begin : begin + size] per axis; a size of -1 runs to the end. Shorter lists cover leading axes. */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  const bk = backendOf('slice', [x]);
  const b = x.shape.map((d, i) => {
    const v = begin[i] ?? 0;
    return v < 0 ? v + d : v;
  });
  const s = x.shape.map((d, i) => {
    const v = size?.[i] ?? -1;
    return v === -1 ? d - b[i]! : v;
  });
  x.shape.forEach((d, i) => {
    if (b[i]! < 0 || s[i]! < 0 || b[i]! + s[i]! > d) {
      throw new ShapeError(`slice: begin ${b[i]} size ${s[i]} is out of range on axis ${i} of ${fmt(x.shape)}`);
    }
  });
  const st = stridesOf(x.shape);
  const offset = b.reduce((acc, v, i) => acc + v * st[i]!, 0);
  return bind('slice', [x], { begin: b, size: s }, { id: bk.strided(x, s, st, offset), shape: s, dtype: x.dtype });
}

/** Pads each axis with `before[i]`/`after[i]` copies of `value` (missing entries are 0). */
export function pad(x: Tensor, before: readonly number[], after: readonly number[], value = 0): Tensor {
  const bk = backendOf('pad', [x]);
  const bf = x.shape.map((_, i) => before[i] ?? 0),
    af = x.shape.map((_, i) => after[i] ?? 0);
  if ([...bf, ...af].some((v) => !Number.isInteger(v) || v < 0)) {
    throw new ShapeError(
      `pad: widths must be non-negative integers, got before [${bf}] after [${af}] for ${fmt(x.shape)}`,
    );
  }
  const shape = x.shape.map((d, i) => d + bf[i]! + af[i]!);
  return bind('pad', [x], { before: bf, after: af, value }, { id: bk.pad(x, bf, af, value), shape, dtype: x.dtype });
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: no tensors given');
  const bk = backendOf('concat', xs);
  const first = xs[0]!;
  const ax = normalizeAxis('concat', axis, first.rank);
  for (const x of xs) {
    if (x.dtype !== first.dtype) throw new TypeError(`concat: dtype mismatch ${first.dtype} vs ${x.dtype}`);
    if (x.rank !== first.rank || x.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new ShapeError(`concat: shapes ${xs.map((t) => fmt(t.shape)).join(', ')} differ outside axis ${axis}`);
    }
  }
  if (xs.length === 1) return reshape(first, first.shape);
  const shape = first.shape.map((d, i) => (i === ax ? xs.reduce((s, x) => s + x.shape[ax]!, 0) : d));
  return bind('concat', xs, ax, { id: bk.concat(xs, ax, shape), shape, dtype: first.dtype });
}

export const expandDims = (x: Tensor, axis: number): Tensor => {
  const ax = normalizeAxis('expandDims', axis, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, ax), 1, ...x.shape.slice(ax)]);
};

export const squeeze = (x: Tensor, axis?: number): Tensor => {
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const ax = normalizeAxis('squeeze', axis, x.rank);
  if (x.shape[ax] !== 1)
    throw new ShapeError(`squeeze: axis ${axis} of ${fmt(x.shape)} has size ${x.shape[ax]}, not 1`);
  return reshape(
    x,
    x.shape.filter((_, i) => i !== ax),
  );
};

/** Splits along `axis` into pieces of the given sizes. */
export function split(x: Tensor, sizes: readonly number[], axis = 0): Tensor[] {
  const ax = normalizeAxis('split', axis, x.rank);
  if (sizes.reduce((a, b) => a + b, 0) !== x.shape[ax])
    throw new ShapeError(`split: sizes [${sizes}] do not add up to axis ${axis} of ${fmt(x.shape)}`);
  let pos = 0;
  return sizes.map((n) => {
    const begin = x.shape.map((_, i) => (i === ax ? pos : 0));
    const size = x.shape.map((d, i) => (i === ax ? n : d));
    pos += n;
    return slice(x, begin, size);
  });
}

export const stack = (xs: readonly Tensor[], axis = 0): Tensor =>
  concat(
    xs.map((x) => expandDims(x, axis)),
    axis,
  );
