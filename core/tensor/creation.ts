/** Creating tensors on an explicit backend: from data, constant fills, ranges and seeded randoms. */
import type { Backend } from '../backend/backend.ts';
import { convertArray, dtypeOfArray, type AnyTypedArray, type DType } from './dtype.ts';
import { normalArray, uniformArray, type PRNGKey } from './random.ts';
import { assertValidShape, fmt, ShapeError, sizeOf, type Shape } from './shape.ts';
import { Tensor, type NestedArray } from './tensor.ts';

export interface CreateOptions {
  readonly shape?: Shape;
  readonly dtype?: DType;
}

function flatten(v: NestedArray, shape: number[], depth: number, out: number[]): void {
  if (typeof v === 'number') {
    if (depth !== shape.length)
      throw new ShapeError(`tensor: ragged nested array (scalar at depth ${depth}, expected ${shape.length})`);
    out.push(v);
    return;
  }
  if (depth === shape.length) shape.push(v.length);
  else if (shape[depth] !== v.length)
    throw new ShapeError(`tensor: ragged nested array at depth ${depth} (${v.length} vs ${shape[depth]})`);
  for (const e of v) flatten(e, shape, depth + 1, out);
}

/** From a nested array, a plain array or a typed array (copied). Default dtype f32, or the array's. */
export function tensor<D extends DType = 'f32'>(
  bk: Backend,
  data: NestedArray | AnyTypedArray,
  opts: CreateOptions & { dtype?: D } = {},
): Tensor<D> {
  let flat: ArrayLike<number>;
  let shape: number[];
  if (ArrayBuffer.isView(data)) {
    flat = data;
    shape = opts.shape ? [...opts.shape] : [data.length];
  } else {
    const out: number[] = [];
    shape = [];
    if (Array.isArray(data) && data.length === 0) shape = [0];
    else flatten(data, shape, 0, out);
    flat = out;
    if (opts.shape) shape = [...opts.shape];
  }
  assertValidShape('tensor', shape);
  if (sizeOf(shape) !== flat.length)
    throw new ShapeError(`tensor: ${flat.length} values do not fill shape ${fmt(shape)}`);
  const dtype = (opts.dtype ?? (ArrayBuffer.isView(data) ? dtypeOfArray(data) : 'f32')) as D;
  if (!bk.dtypes.has(dtype)) throw new TypeError(`tensor: the ${bk.name} backend has no ${dtype}`);
  const arr = ArrayBuffer.isView(data) && dtypeOfArray(data) === dtype ? data : convertArray(flat, dtype);
  return new Tensor(bk, bk.upload(arr, dtype), shape, dtype);
}

export function full<D extends DType = 'f32'>(
  bk: Backend,
  shape: Shape,
  value: number,
  dtype: D = 'f32' as D,
): Tensor<D> {
  assertValidShape('full', shape);
  return new Tensor(bk, bk.fill(sizeOf(shape), value, dtype), [...shape], dtype);
}
export const zeros = <D extends DType = 'f32'>(bk: Backend, shape: Shape, dtype: D = 'f32' as D) =>
  full(bk, shape, 0, dtype);
export const ones = <D extends DType = 'f32'>(bk: Backend, shape: Shape, dtype: D = 'f32' as D) =>
  full(bk, shape, 1, dtype);
export const scalar = <D extends DType = 'f32'>(bk: Backend, value: number, dtype: D = 'f32' as D) =>
  full(bk, [], value, dtype);
export const zerosLike = (t: Tensor): Tensor => full(t.backend, t.shape, 0, t.dtype);
export const onesLike = (t: Tensor): Tensor => full(t.backend, t.shape, 1, t.dtype);

/** [start, stop) with step, as numpy.arange. */
export function arange<D extends DType = 'i32'>(
  bk: Backend,
  start: number,
  stop?: number,
  step = 1,
  dtype: D = 'i32' as D,
): Tensor<D> {
  const [a, b] = stop === undefined ? [0, start] : [start, stop];
  if (step === 0) throw new RangeError('arange: step must be nonzero');
  const n = Math.max(0, Math.ceil((b - a) / step));
  return tensor(
    bk,
    Float64Array.from({ length: n }, (_, i) => a + i * step),
    { dtype, shape: [n] },
  );
}

export interface RandomOptions<D extends DType> {
  readonly dtype?: D;
}

export function randomUniform<D extends DType = 'f32'>(
  bk: Backend,
  key: PRNGKey,
  shape: Shape,
  low = 0,
  high = 1,
  opts: RandomOptions<D> = {},
): Tensor<D> {
  const u = uniformArray(key, sizeOf(shape));
  for (let i = 0; i < u.length; i++) u[i] = low + (high - low) * u[i]!;
  return tensor(bk, u, { shape, dtype: (opts.dtype ?? 'f32') as D });
}

export function randomNormal<D extends DType = 'f32'>(
  bk: Backend,
  key: PRNGKey,
  shape: Shape,
  mean = 0,
  std = 1,
  opts: RandomOptions<D> = {},
): Tensor<D> {
  const z = normalArray(key, sizeOf(shape));
  for (let i = 0; i < z.length; i++) z[i] = mean + std * z[i]!;
  return tensor(bk, z, { shape, dtype: (opts.dtype ?? 'f32') as D });
}
