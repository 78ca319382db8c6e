/** Elementwise primitives (unary, broadcasting binary, compare, where, cast); their VJPs are in vjp-rules.ts. */
import { I32_UNARY_OPS, type BinaryOp, type CompareOp, type UnaryOp } from '../../backend/backend.ts';
import type { StorageDType } from '../dtype.ts';
import { broadcastShapes } from '../shape.ts';
import type { AnyTensor, Tensor } from '../tensor.ts';
import { backendOf, bind, lift, requireFloat, type TensorLike } from './bind.ts';

// ---------- unary ----------
export function unary(op: UnaryOp, x: Tensor): Tensor {
  const bk = backendOf(op, [x]);
  if (!I32_UNARY_OPS.has(op)) requireFloat(op, x);
  return bind(op, [x], null, { id: bk.unary(op, x), shape: x.shape, dtype: x.dtype });
}

export const neg = (x: Tensor) => unary('neg', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
export const abs = (x: Tensor) => unary('abs', x);
export const sign = (x: Tensor) => unary('sign', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const relu = (x: Tensor) => unary('relu', x);
export const step = (x: Tensor) => unary('step', x);
export const erf = (x: Tensor) => unary('erf', x);
/** Exact (erf) GELU, as BERT's `hidden_act: "gelu"`. */
export const gelu = (x: Tensor) => unary('gelu', x);
export const recip = (x: Tensor) => unary('recip', x);
export const square = (x: Tensor) => unary('square', x);
export const log1p = (x: Tensor) => unary('log1p', x);
export const sin = (x: Tensor) => unary('sin', x);
export const cos = (x: Tensor) => unary('cos', x);

// ---------- binary ----------
export function binary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = lift(op, a, b);
  const bk = backendOf(op, [ta, tb]);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  return bind(op, [ta, tb], null, { id: bk.binary(op, ta, tb, shape), shape, dtype: ta.dtype });
}

export const add = (a: TensorLike, b: TensorLike) => binary('add', a, b);
export const sub = (a: TensorLike, b: TensorLike) => binary('sub', a, b);
export const mul = (a: TensorLike, b: TensorLike) => binary('mul', a, b);
export const div = (a: TensorLike, b: TensorLike) => binary('div', a, b);
export const pow = (a: TensorLike, b: TensorLike) => binary('pow', a, b);
export const maximum = (a: TensorLike, b: TensorLike) => binary('max', a, b);
export const minimum = (a: TensorLike, b: TensorLike) => binary('min', a, b);

// ---------- compare, where, cast ----------
/** Elementwise comparison with broadcasting; an i32 mask of 0/1 (no gradient). */
export function compare(op: CompareOp, a: TensorLike, b: TensorLike): Tensor<'i32'> {
  const [ta, tb] = lift(op, a, b);
  const bk = backendOf(op, [ta, tb]);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  return bind('compare', [ta, tb], null, { id: bk.compare(op, ta, tb, shape), shape, dtype: 'i32' }) as Tensor<'i32'>;
}
export const equal = (a: TensorLike, b: TensorLike) => compare('eq', a, b);
export const notEqual = (a: TensorLike, b: TensorLike) => compare('ne', a, b);
export const less = (a: TensorLike, b: TensorLike) => compare('lt', a, b);
export const lessEqual = (a: TensorLike, b: TensorLike) => compare('le', a, b);
export const greater = (a: TensorLike, b: TensorLike) => compare('gt', a, b);
export const greaterEqual = (a: TensorLike, b: TensorLike) => compare('ge', a, b);

/** cond (nonzero = true) ? a : b, with broadcasting over all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = lift('where', a, b);
  const bk = backendOf('where', [cond, ta, tb]);
  const shape = broadcastShapes('where', cond.shape, ta.shape, tb.shape);
  return bind('where', [cond, ta, tb], null, { id: bk.where(cond, ta, tb, shape), shape, dtype: ta.dtype });
}

export function cast<D extends StorageDType>(x: AnyTensor, dtype: D): Tensor<D> {
  const bk = backendOf('cast', [x]);
  if (!bk.dtypes.has(dtype))
    throw new TypeError(`cast: the ${bk.name} backend has no ${dtype}${dtype === 'f16' ? ' storage' : ''}`);
  // only f32 rounds to half (f64 would round twice); halves widen exactly to f32 or f64
  if ((dtype === 'f16' && x.dtype !== 'f32' && x.dtype !== 'f16') || (x.dtype === 'f16' && dtype === 'i32')) {
    throw new TypeError(`cast: ${x.dtype} → ${dtype} is not supported (f16 casts are f32 → f16 and f16 → f32/f64)`);
  }
  return bind('cast', [x], dtype, { id: bk.cast(x, dtype), shape: x.shape, dtype }) as Tensor<D>;
}
