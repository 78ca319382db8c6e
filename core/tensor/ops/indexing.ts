/** Gather (embedding lookup; backward = scatter-add), scatter-add and one-hot. */
import type { Primitive } from '../../autograd/tape.ts';
import type { DType } from '../dtype.ts';
import { fmt, ShapeError } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { backendOf, bind, noGrad, requireDtype } from './bind.ts';

const gatherPrim: Primitive<null> = {
  name: 'gather',
  vjp: (dy, [table, idx]) => [() => scatterAdd(idx!, dy, table!.shape[0]!), undefined],
};

/** Rows of `table` [R, ...rest] at i32 `indices` [...I] → [...I, ...rest]. */
export function gather(table: Tensor, indices: Tensor): Tensor {
  const bk = backendOf('gather', [table, indices]);
  requireDtype('gather', indices, 'i32', 'indices');
  if (table.rank < 1) throw new ShapeError(`gather: table must have rank ≥ 1, got ${fmt(table.shape)}`);
  const shape = [...indices.shape, ...table.shape.slice(1)];
  return bind(gatherPrim, [table, indices], null, { id: bk.gather(table, indices), shape, dtype: table.dtype });
}

const scatterPrim: Primitive<number> = {
  name: 'scatterAdd',
  vjp: (dy, [idx]) => [undefined, () => gather(dy, idx!)],
};

/** zeros [numRows, ...rest], then out[indices[i]] += updates[i] (updates: [...I, ...rest]). */
export function scatterAdd(indices: Tensor, updates: Tensor, numRows: number): Tensor {
  const bk = backendOf('scatterAdd', [indices, updates]);
  requireDtype('scatterAdd', indices, 'i32', 'indices');
  const lead = updates.shape.slice(0, indices.rank);
  if (lead.length !== indices.rank || lead.some((d, i) => d !== indices.shape[i])) {
    throw new ShapeError(`scatterAdd: updates ${fmt(updates.shape)} must start with the indices shape ${fmt(indices.shape)}`);
  }
  const shape = [numRows, ...updates.shape.slice(indices.rank)];
  return bind(scatterPrim, [indices, updates], numRows, { id: bk.scatterAdd(indices, updates, numRows), shape, dtype: updates.dtype });
}

const oneHotPrim = noGrad('oneHot');
/** i32 indices [...I] → [...I, depth]; indices outside [0, depth) give an all-zero row. */
export function oneHot(indices: Tensor, depth: number, dtype: DType = 'f32'): Tensor {
  const bk = backendOf('oneHot', [indices]);
  requireDtype('oneHot', indices, 'i32', 'indices');
  if (!Number.isInteger(depth) || depth < 0) throw new RangeError(`oneHot: depth must be a non-negative integer, got ${depth}`);
  const shape = [...indices.shape, depth];
  return bind(oneHotPrim, [indices], depth, { id: bk.oneHot(indices, depth, dtype), shape, dtype });
}
