/** Elementwise primitives (unary, broadcasting binary, compare, where, cast), each with its VJP. */
import type { BinaryOp, CompareOp, UnaryOp } from '../../backend/backend.ts';
import type { Primitive, VjpThunk } from '../../autograd/tape.ts';
import { isFloat, type StorageDType } from '../dtype.ts';
import { broadcastShapes } from '../shape.ts';
import type { AnyTensor, Tensor } from '../tensor.ts';
import { backendOf, bind, lift, noGrad, requireFloat, scalarLike, type TensorLike } from './bind.ts';

// ---------- unary ----------
type UnaryRule = (dy: Tensor, x: Tensor, y: Tensor) => Tensor;
const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** d/dx of each unary op, written with ops so it runs on any backend. `undefined`: no gradient. */
const unaryRules: { [O in UnaryOp]: UnaryRule | undefined } = {
  neg: (dy) => neg(dy),
  exp: (dy, _x, y) => mul(dy, y),
  log: (dy, x) => div(dy, x),
  sqrt: (dy, _x, y) => div(mul(dy, 0.5), y),
  rsqrt: (dy, _x, y) => mul(mul(dy, -0.5), mul(y, mul(y, y))),
  abs: (dy, x) => mul(dy, sign(x)),
  sign: undefined,
  tanh: (dy, _x, y) => mul(dy, sub(1, square(y))),
  sigmoid: (dy, _x, y) => mul(dy, mul(y, sub(1, y))),
  relu: (dy, x) => mul(dy, step(x)),
  step: undefined,
  erf: (dy, x) => mul(dy, mul(exp(neg(square(x))), TWO_OVER_SQRT_PI)),
  gelu: (dy, x) => mul(dy, unary('geluGrad', x)),
  geluGrad: undefined,
  recip: (dy, _x, y) => neg(mul(dy, square(y))),
  square: (dy, x) => mul(dy, mul(x, 2)),
  log1p: (dy, x) => div(dy, add(x, 1)),
  sin: (dy, x) => mul(dy, cos(x)),
  cos: (dy, x) => neg(mul(dy, sin(x))),
};

const unaryPrims = Object.fromEntries(
  (Object.keys(unaryRules) as UnaryOp[]).map((op): [UnaryOp, Primitive<null>] => {
    const rule = unaryRules[op];
    return [op, { name: op, vjp: (dy, [x], y) => [rule ? () => rule(dy, x!, y) : undefined] }];
  }),
) as Record<UnaryOp, Primitive<null>>;

export function unary(op: UnaryOp, x: Tensor): Tensor {
  const bk = backendOf(op, [x]);
  if (unaryRules[op] !== undefined && op !== 'neg' && op !== 'abs' && op !== 'square' && op !== 'relu')
    requireFloat(op, x);
  return bind(unaryPrims[op], [x], null, { id: bk.unary(op, x), shape: x.shape, dtype: x.dtype });
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
type BinaryRule = (dy: Tensor, a: Tensor, b: Tensor, y: Tensor) => [VjpThunk | undefined, VjpThunk | undefined];
const binaryRules: { [O in BinaryOp]: BinaryRule } = {
  add: (dy) => [() => dy, () => dy],
  sub: (dy) => [() => dy, () => neg(dy)],
  mul: (dy, a, b) => [() => mul(dy, b), () => mul(dy, a)],
  div: (dy, a, b) => [() => div(dy, b), () => neg(div(mul(dy, a), square(b)))],
  // d/db = y·log a, masked to 0 where a = 0 and b ≥ 0 (torch's rule; the limit of b·log a there)
  pow: (dy, a, b, y) => [
    () => mul(dy, mul(b, pow(a, sub(b, 1)))),
    () => mul(dy, where(mul(compare('eq', a, 0), compare('ge', b, 0)), 0, mul(y, log(a)))),
  ],
  // ties split the gradient evenly (torch.maximum's rule)
  max: (dy, a, b) => [() => mul(dy, tieWeight(a, b)), () => mul(dy, tieWeight(b, a))],
  min: (dy, a, b) => [() => mul(dy, tieWeight(b, a)), () => mul(dy, tieWeight(a, b))],
};
/** 1 where a > b, 0.5 where a == b, 0 elsewhere, in a's dtype. */
const tieWeight = (a: Tensor, b: Tensor): Tensor =>
  mul(add(cast(compare('gt', a, b), a.dtype), cast(compare('ge', a, b), a.dtype)), 0.5);

const binaryPrims = Object.fromEntries(
  (Object.keys(binaryRules) as BinaryOp[]).map((op): [BinaryOp, Primitive<null>] => [
    op,
    { name: op, vjp: (dy, [a, b], y) => binaryRules[op](dy, a!, b!, y) },
  ]),
) as Record<BinaryOp, Primitive<null>>;

export function binary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = lift(op, a, b);
  const bk = backendOf(op, [ta, tb]);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  return bind(binaryPrims[op], [ta, tb], null, { id: bk.binary(op, ta, tb, shape), shape, dtype: ta.dtype });
}

export const add = (a: TensorLike, b: TensorLike) => binary('add', a, b);
export const sub = (a: TensorLike, b: TensorLike) => binary('sub', a, b);
export const mul = (a: TensorLike, b: TensorLike) => binary('mul', a, b);
export const div = (a: TensorLike, b: TensorLike) => binary('div', a, b);
export const pow = (a: TensorLike, b: TensorLike) => binary('pow', a, b);
export const maximum = (a: TensorLike, b: TensorLike) => binary('max', a, b);
export const minimum = (a: TensorLike, b: TensorLike) => binary('min', a, b);

// ---------- compare, where, cast ----------
const comparePrim = noGrad('compare');

/** Elementwise comparison with broadcasting; an i32 mask of 0/1 (no gradient). */
export function compare(op: CompareOp, a: TensorLike, b: TensorLike): Tensor<'i32'> {
  const [ta, tb] = lift(op, a, b);
  const bk = backendOf(op, [ta, tb]);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  return bind(comparePrim, [ta, tb], null, { id: bk.compare(op, ta, tb, shape), shape, dtype: 'i32' }) as Tensor<'i32'>;
}
export const equal = (a: TensorLike, b: TensorLike) => compare('eq', a, b);
export const notEqual = (a: TensorLike, b: TensorLike) => compare('ne', a, b);
export const less = (a: TensorLike, b: TensorLike) => compare('lt', a, b);
export const lessEqual = (a: TensorLike, b: TensorLike) => compare('le', a, b);
export const greater = (a: TensorLike, b: TensorLike) => compare('gt', a, b);
export const greaterEqual = (a: TensorLike, b: TensorLike) => compare('ge', a, b);

const wherePrim: Primitive<null> = {
  name: 'where',
  vjp: (dy, [c, a]) => [undefined, () => where(c!, dy, scalarLike(0, a!)), () => where(c!, scalarLike(0, a!), dy)],
};

/** cond (nonzero = true) ? a : b, with broadcasting over all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = lift('where', a, b);
  const bk = backendOf('where', [cond, ta, tb]);
  const shape = broadcastShapes('where', cond.shape, ta.shape, tb.shape);
  return bind(wherePrim, [cond, ta, tb], null, { id: bk.where(cond, ta, tb, shape), shape, dtype: ta.dtype });
}

const castPrim: Primitive<StorageDType> = {
  name: 'cast',
  // an f16 input gets none: f16 is frozen storage (dtype.ts)
  vjp: (dy, [x]) => [isFloat(x!.dtype) ? () => cast(dy, x!.dtype) : undefined],
};

export function cast<D extends StorageDType>(x: AnyTensor, dtype: D): Tensor<D> {
  const bk = backendOf('cast', [x]);
  if (!bk.dtypes.has(dtype))
    throw new TypeError(`cast: the ${bk.name} backend has no ${dtype}${dtype === 'f16' ? ' storage' : ''}`);
  // only f32 rounds to half (f64 would round twice); halves widen exactly to f32 or f64
  if ((dtype === 'f16' && x.dtype !== 'f32' && x.dtype !== 'f16') || (x.dtype === 'f16' && dtype === 'i32')) {
    throw new TypeError(`cast: ${x.dtype} → ${dtype} is not supported (f16 casts are f32 → f16 and f16 → f32/f64)`);
  }
  return bind(castPrim, [x], dtype, { id: bk.cast(x, dtype), shape: x.shape, dtype }) as Tensor<D>;
}
