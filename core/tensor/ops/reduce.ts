/** Reductions over axes (keepdims optional), argmax; sum/max/min with VJPs. */
import type { ReduceOp } from '../../backend/backend.ts';
import type { Primitive } from '../../autograd/tape.ts';
import { normalizeAxes, normalizeAxis, ShapeError, fmt, type Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { backendOf, bind, noGrad } from './bind.ts';
import { cast, div, equal, mul } from './elementwise.ts';
import { broadcastTo, reshape } from './shape-ops.ts';

export type Axes = number | readonly number[] | undefined;

interface ReduceAttrs {
  readonly axes: readonly number[];
  readonly keptShape: Shape;
}

/** Brings a reduced tensor back to the input's rank (size-1 reduced axes), then broadcasts. */
const unreduce = (t: Tensor, a: ReduceAttrs, to: Shape): Tensor => broadcastTo(reshape(t, a.keptShape), to);

const sumPrim: Primitive<ReduceAttrs> = { name: 'sum', vjp: (dy, [x], _y, a) => [() => unreduce(dy, a, x!.shape)] };

/** max/min: the cotangent goes to the arg-extrema, shared evenly between ties. */
const extremumVjp: Primitive<ReduceAttrs>['vjp'] = (dy, [x], y, a) => [
  () => {
    const hit = cast(equal(x!, unreduce(y, a, x!.shape)), x!.dtype);
    const count = reshape(reduceRaw('sum', hit, a.axes), a.keptShape);
    return mul(div(hit, count), unreduce(dy, a, x!.shape));
  },
];
const maxPrim: Primitive<ReduceAttrs> = { name: 'max', vjp: extremumVjp };
const minPrim: Primitive<ReduceAttrs> = { name: 'min', vjp: extremumVjp };
const prims: Record<ReduceOp, Primitive<ReduceAttrs>> = { sum: sumPrim, max: maxPrim, min: minPrim };

function reduceRaw(op: ReduceOp, x: Tensor, axes: readonly number[]): Tensor {
  const bk = backendOf(op, [x]);
  const shape = x.shape.filter((_, i) => !axes.includes(i));
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  if (op !== 'sum') {
    for (const ax of axes)
      if (x.shape[ax] === 0) throw new ShapeError(`${op}: cannot reduce empty axis ${ax} of ${fmt(x.shape)}`);
  }
  return bind(prims[op], [x], { axes, keptShape }, { id: bk.reduce(op, x, axes), shape, dtype: x.dtype });
}

function reduce(op: ReduceOp, x: Tensor, axes: Axes, keepdims: boolean): Tensor {
  const ax = normalizeAxes(op, axes, x.rank);
  const r = reduceRaw(op, x, ax);
  return keepdims
    ? reshape(
        r,
        x.shape.map((d, i) => (ax.includes(i) ? 1 : d)),
      )
    : r;
}

export const sum = (x: Tensor, axes?: Axes, keepdims = false): Tensor => reduce('sum', x, axes, keepdims);
export const max = (x: Tensor, axes?: Axes, keepdims = false): Tensor => reduce('max', x, axes, keepdims);
export const min = (x: Tensor, axes?: Axes, keepdims = false): Tensor => reduce('min', x, axes, keepdims);

export function mean(x: Tensor, axes?: Axes, keepdims = false): Tensor {
  const ax = normalizeAxes('mean', axes, x.rank);
  const n = ax.reduce((a, i) => a * x.shape[i]!, 1);
  return div(reduce('sum', x, ax, keepdims), n);
}

const argmaxPrim = noGrad('argmax');
export function argmax(x: Tensor, axis = -1): Tensor<'i32'> {
  const bk = backendOf('argmax', [x]);
  const ax = normalizeAxis('argmax', axis, x.rank);
  if (x.shape[ax] === 0) throw new ShapeError(`argmax: empty axis ${axis} of ${fmt(x.shape)}`);
  const shape = x.shape.filter((_, i) => i !== ax);
  return bind(argmaxPrim, [x], ax, { id: bk.argmax(x, ax), shape, dtype: 'i32' }) as Tensor<'i32'>;
}
