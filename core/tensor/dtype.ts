/** Element types. `f64` is the gradient-check reference, `f32` what models run in, `i32` ids and masks. */
export type DType = 'f32' | 'f64' | 'i32';
export type FloatDType = 'f32' | 'f64';

export type TypedArrayOf<D extends DType> = D extends 'f64' ? Float64Array : D extends 'f32' ? Float32Array : Int32Array;
export type AnyTypedArray = Float32Array | Float64Array | Int32Array;

export const isFloat = (d: DType): d is FloatDType => d === 'f32' || d === 'f64';

export const bytesPerElement = (d: DType): number => (d === 'f64' ? 8 : 4);

export function allocArray<D extends DType>(dtype: D, size: number): TypedArrayOf<D> {
  switch (dtype) {
    case 'f64': return new Float64Array(size) as TypedArrayOf<D>;
    case 'f32': return new Float32Array(size) as TypedArrayOf<D>;
    default: return new Int32Array(size) as TypedArrayOf<D>;
  }
}

/** Copies `src` into a fresh array of `dtype` (rounding to f32 or truncating to i32 as the dtype says). */
export function convertArray<D extends DType>(src: ArrayLike<number>, dtype: D): TypedArrayOf<D> {
  const out = allocArray(dtype, src.length);
  if (dtype === 'i32') for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]!);
  else out.set(src as ArrayLike<number>);
  return out;
}

export const dtypeOfArray = (a: AnyTypedArray): DType =>
  a instanceof Float64Array ? 'f64' : a instanceof Float32Array ? 'f32' : 'i32';
