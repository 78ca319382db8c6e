/**
 * A tensor as read from (or written to) a checkpoint file: a name, a dtype, a row-major shape and a
 * contiguous typed array. No autograd, no backend: the encoder turns these into live tensors.
 */
export type RawDType = 'f32' | 'f64' | 'i32';
export type FloatDType = 'f32' | 'f64';
export type RawData = Float32Array | Float64Array | Int32Array;

export interface RawTensor {
  readonly name: string;
  readonly dtype: RawDType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array | Int32Array;
}

/** Product of the dimensions (1 for a scalar shape `[]`). */
export const numelOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export const shapeEquals = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

export const formatShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

export const dtypeOfData = (data: RawData): RawDType =>
  data instanceof Float64Array ? 'f64' : data instanceof Float32Array ? 'f32' : 'i32';

/** Builds a RawTensor, checking that the array matches dtype and shape (throws on a mismatch). */
export function rawTensor(name: string, shape: readonly number[], data: RawData): RawTensor {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`tensor ${name}: shape ${formatShape(shape)} must hold non-negative integers`);
  }
  if (numelOf(shape) !== data.length) {
    throw new Error(
      `tensor ${name}: shape ${formatShape(shape)} needs ${numelOf(shape)} elements, data has ${data.length}`,
    );
  }
  return { name, dtype: dtypeOfData(data), shape: [...shape], data };
}

/** A copy with another name (the data is shared, not copied). */
export const renamed = (t: RawTensor, name: string): RawTensor => ({ ...t, name });
