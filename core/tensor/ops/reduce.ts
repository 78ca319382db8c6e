/** Reductions over axes (keepdims optional), argmax; their VJPs are in vjp-rules.ts. */
import type { ReduceOp } from '../../backend/backend.ts';
import { reduceOpName } from '../../autograd/primitives.ts';
import { normalizeAxes, normalizeAxis, ShapeError, fmt } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { backendOf, bind } from './bind.ts';
import { div } from './elementwise.ts';
import { reshape } from './shape-ops.ts';

export type Axes = number | readonly number[] | undefined;

/** One reduction primitive over normalized axes, no keepdims. */
export function reduceRaw(op: ReduceOp, x: Tensor, axes: readonly number[]): Tensor {
  const bk = backendOf(op, [x]);
  const shape = x.shape.filter((_, i) => !axes.includes(i));
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  if (op !== 'sum') {
    for (const ax of axes)
      if (x.shape[ax] === 0) throw new ShapeError(`${op}: cannot reduce empty axis ${ax} of ${fmt(x.shape)}`);
  }
  return bind(reduceOpName(op), [x], { axes, keptShape }, { id: bk.reduce(op, x, axes), shape, dtype: x.dtype });
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

export function argmax(x: Tensor, axis = -1): Tensor<'i32'> {
  const bk = backendOf('argmax', [x]);
  const ax = normalizeAxis('argmax', axis, x.rank);
  if (x.shape[ax] === 0) throw new ShapeError(`argmax: empty axis ${axis} of ${fmt(x.shape)}`);
  const shape = x.shape.filter((_, i) => i !== ax);
  return bind('argmax', [x], ax, { id: bk.argmax(x, ax), shape, dtype: 'i32' }) as Tensor<'i32'>;
}
