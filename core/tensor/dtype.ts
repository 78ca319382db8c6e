/** Element types ops compute in. `f64` is the gradient-check reference, `f32` what models run in, `i32` ids and masks. */
export type DType = 'f32' | 'f64' | 'i32';
export type FloatDType = 'f32' | 'f64';
/**
 * What a tensor may be stored as: a DType, or `f16` for frozen weights. It is its own type so that a
 * `Tensor<'f16'>` reaches at compile time only the ops that take it (`cast`, `reshape`, `matmul`, which
 * computes in f32); the rest refuse it at run time too (core/tensor/ops/bind.ts F16_OPS). On the CPU
 * an f16 tensor is a Float32Array of values already rounded to halves (core/tensor/half.ts); WebGPU
 * stores 2-byte halves.
 */
export type StorageDType = DType | 'f16';

export type TypedArrayOf<D extends StorageDType> = D extends 'f64'
  ? Float64Array
  : D extends 'f32' | 'f16'
    ? Float32Array
    : Int32Array;
export type AnyTypedArray = Float32Array | Float64Array | Int32Array;

export const isFloat = (d: DType): d is FloatDType => d === 'f32' || d === 'f64';

export const bytesPerElement = (d: StorageDType): number => (d === 'f64' ? 8 : d === 'f16' ? 2 : 4);

/** The dtype an op computes in for operands stored as `d` (halves are widened to f32). */
export const computeDtype = (d: StorageDType): DType => (d === 'f16' ? 'f32' : d);

export function allocArray<D extends StorageDType>(dtype: D, size: number): TypedArrayOf<D> {
  switch (dtype) {
    case 'f64':
      return new Float64Array(size) as TypedArrayOf<D>;
    case 'f32':
    case 'f16':
      return new Float32Array(size) as TypedArrayOf<D>;
    default:
      return new Int32Array(size) as TypedArrayOf<D>;
  }
}

/** Copies `src` into a fresh array of `dtype` (rounding to f32 or truncating to i32 as the dtype says). */
export function convertArray<D extends DType>(src: ArrayLike<number>, dtype: D): TypedArrayOf<D> {
  const out = allocArray(dtype, src.length);
  if (dtype === 'i32') for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]!);
  else out.set(src);
  return out;
}

export const dtypeOfArray = (a: AnyTypedArray): DType =>
  a instanceof Float64Array ? 'f64' : a instanceof Float32Array ? 'f32' : 'i32';
