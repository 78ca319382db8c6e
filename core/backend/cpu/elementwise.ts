/** CPU reference: unary, broadcasting binary, comparison, select and cast kernels. */
import type { BinaryOp, CompareOp, UnaryOp } from '../backend.ts';
import { allocArray, type AnyTypedArray, type DType } from '../../tensor/dtype.ts';
import { broadcastStrides, sizeOf, type Shape } from '../../tensor/shape.ts';
import { forEachRow } from './iterate.ts';
import { erf32, erf64, gelu, geluGrad, sigmoid } from './math.ts';

type Fn1 = (x: number) => number;
type Fn2 = (a: number, b: number) => number;

export function unaryFn(op: UnaryOp, dtype: DType): Fn1 {
  const erf = dtype === 'f64' ? erf64 : erf32;
  switch (op) {
    case 'neg':
      return (x) => -x;
    case 'exp':
      return Math.exp;
    case 'log':
      return Math.log;
    case 'sqrt':
      return Math.sqrt;
    case 'rsqrt':
      return (x) => 1 / Math.sqrt(x);
    case 'abs':
      return Math.abs;
    case 'sign':
      return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
    case 'tanh':
      return Math.tanh;
    case 'sigmoid':
      return sigmoid;
    case 'relu':
      return (x) => (x > 0 ? x : 0);
    case 'step':
      return (x) => (x > 0 ? 1 : 0);
    case 'erf':
      return erf;
    case 'gelu':
      return (x) => gelu(x, erf);
    case 'geluGrad':
      return (x) => geluGrad(x, erf);
    case 'recip':
      return (x) => 1 / x;
    case 'square':
      return (x) => x * x;
    case 'log1p':
      return Math.log1p;
    case 'sin':
      return Math.sin;
    case 'cos':
      return Math.cos;
  }
}

export function binaryFn(op: BinaryOp, dtype: DType): Fn2 {
  const int = dtype === 'i32';
  switch (op) {
    case 'add':
      return (a, b) => a + b;
    case 'sub':
      return (a, b) => a - b;
    case 'mul':
      return int ? Math.imul : (a, b) => a * b;
    case 'div':
      return int ? (a, b) => Math.trunc(a / b) : (a, b) => a / b;
    case 'pow':
      return Math.pow;
    // NaN-propagating, as torch.maximum / minimum
    case 'max':
      return (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b);
    case 'min':
      return (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b);
  }
}

export function compareFn(op: CompareOp): Fn2 {
  switch (op) {
    case 'eq':
      return (a, b) => (a === b ? 1 : 0);
    case 'ne':
      return (a, b) => (a !== b ? 1 : 0);
    case 'lt':
      return (a, b) => (a < b ? 1 : 0);
    case 'le':
      return (a, b) => (a <= b ? 1 : 0);
    case 'gt':
      return (a, b) => (a > b ? 1 : 0);
    case 'ge':
      return (a, b) => (a >= b ? 1 : 0);
  }
}

export function unaryRef(fn: Fn1, x: AnyTypedArray, dtype: DType): AnyTypedArray {
  const out = allocArray(dtype, x.length);
  for (let i = 0; i < x.length; i++) out[i] = fn(x[i]!);
  return out;
}

/** out[idx] = fn(a[bcast idx], b[bcast idx]) over outShape. */
export function binaryRef(
  fn: Fn2,
  a: AnyTypedArray,
  aShape: Shape,
  b: AnyTypedArray,
  bShape: Shape,
  outShape: Shape,
  outDtype: DType,
): AnyTypedArray {
  const n = sizeOf(outShape);
  const out = allocArray(outDtype, n);
  if (a.length === n && b.length === n) {
    for (let i = 0; i < n; i++) out[i] = fn(a[i]!, b[i]!);
    return out;
  }
  if (b.length === 1 && a.length === n) {
    const bv = b[0]!;
    for (let i = 0; i < n; i++) out[i] = fn(a[i]!, bv);
    return out;
  }
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  forEachRow(outShape, [sa, sb], (o, offs, len, st) => {
    let ia = offs[0]!,
      ib = offs[1]!;
    const da = st[0]!,
      db = st[1]!;
    for (let j = 0; j < len; j++, ia += da, ib += db) out[o + j] = fn(a[ia]!, b[ib]!);
  });
  return out;
}

export function whereRef(
  c: AnyTypedArray,
  cShape: Shape,
  a: AnyTypedArray,
  aShape: Shape,
  b: AnyTypedArray,
  bShape: Shape,
  outShape: Shape,
  dtype: DType,
): AnyTypedArray {
  const out = allocArray(dtype, sizeOf(outShape));
  const strides = [
    broadcastStrides(cShape, outShape),
    broadcastStrides(aShape, outShape),
    broadcastStrides(bShape, outShape),
  ];
  forEachRow(outShape, strides, (o, offs, len, st) => {
    let ic = offs[0]!,
      ia = offs[1]!,
      ib = offs[2]!;
    for (let j = 0; j < len; j++, ic += st[0]!, ia += st[1]!, ib += st[2]!) out[o + j] = c[ic]! !== 0 ? a[ia]! : b[ib]!;
  });
  return out;
}
