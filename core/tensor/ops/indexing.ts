/** Gather (embedding lookup; backward = scatter-add), scatter-add, one-to-one row moves and one-hot. */
import type { Backend } from '../../backend/backend.ts';
import { tensor } from '../creation.ts';
import type { DType } from '../dtype.ts';
import { fmt, ShapeError } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { backendOf, bind, requireDtype } from './bind.ts';

/** Rows of `table` [R, ...rest] at i32 `indices` [...I] → [...I, ...rest]. */
export function gather(table: Tensor, indices: Tensor): Tensor {
  const bk = backendOf('gather', [table, indices]);
  requireDtype('gather', indices, 'i32', 'indices');
  if (table.rank < 1) throw new ShapeError(`gather: table must have rank ≥ 1, got ${fmt(table.shape)}`);
  const shape = [...indices.shape, ...table.shape.slice(1)];
  return bind('gather', [table, indices], null, { id: bk.gather(table, indices), shape, dtype: table.dtype });
}

/** zeros [numRows, ...rest], then out[indices[i]] += updates[i] (updates: [...I, ...rest]). */
export function scatterAdd(indices: Tensor, updates: Tensor, numRows: number): Tensor {
  const bk = backendOf('scatterAdd', [indices, updates]);
  requireDtype('scatterAdd', indices, 'i32', 'indices');
  const lead = updates.shape.slice(0, indices.rank);
  if (lead.length !== indices.rank || lead.some((d, i) => d !== indices.shape[i])) {
    throw new ShapeError(
      `scatterAdd: updates ${fmt(updates.shape)} must start with the indices shape ${fmt(indices.shape)}`,
    );
  }
  const shape = [numRows, ...updates.shape.slice(indices.rank)];
  return bind('scatterAdd', [indices, updates], numRows, {
    id: bk.scatterAdd(indices, updates, numRows),
    shape,
    dtype: updates.dtype,
  });
}

/**
 * A one-to-one row map, as packed-row layouts need: out row i ← source row index[i] (−1: a zero row),
 * each source row used at most once, so `inverse` (source row → out row, or −1) is its transpose.
 */
export interface RowMap {
  /** i32 [outRows] */
  readonly index: Tensor;
  /** i32 [sourceRows] */
  readonly inverse: Tensor;
}

/** Builds and checks a RowMap from host indices over `sourceRows` rows. */
export function rowMap(bk: Backend, index: Int32Array, sourceRows: number): RowMap {
  const inverse = new Int32Array(sourceRows).fill(-1);
  index.forEach((r, i) => {
    if (r < -1 || r >= sourceRows) throw new RangeError(`rowMap: index[${i}] = ${r} is outside [−1, ${sourceRows})`);
    if (r === -1) return;
    if (inverse[r] !== -1)
      throw new RangeError(
        `rowMap: source row ${r} is taken twice (index[${inverse[r]}] and index[${i}]); a row map moves each row at most once`,
      );
    inverse[r] = i;
  });
  const t = (a: Int32Array) => tensor(bk, a, { shape: [a.length], dtype: 'i32' });
  return { index: t(index), inverse: t(inverse) };
}

/** The map the other way: its out rows are the source rows. */
export const invertRowMap = (m: RowMap): RowMap => ({ index: m.inverse, inverse: m.index });

/** x [sourceRows, ...rest] → [outRows, ...rest]: out row i = x[index[i]], or zeros where index[i] = −1. */
export function moveRows(x: Tensor, map: RowMap): Tensor {
  const bk = backendOf('moveRows', [x, map.index, map.inverse]);
  if (x.rank < 1 || x.shape[0] !== map.inverse.shape[0]) {
    throw new ShapeError(`moveRows: x ${fmt(x.shape)} must have ${map.inverse.shape[0]} rows, the row map's source`);
  }
  const shape = [map.index.shape[0]!, ...x.shape.slice(1)];
  return bind('takeRows', [x, map.index, map.inverse], null, {
    id: bk.takeRows(x, map.index),
    shape,
    dtype: x.dtype,
  });
}

/** i32 indices [...I] → [...I, depth]; indices outside [0, depth) give an all-zero row. */
export function oneHot(indices: Tensor, depth: number, dtype: DType = 'f32'): Tensor {
  const bk = backendOf('oneHot', [indices]);
  requireDtype('oneHot', indices, 'i32', 'indices');
  if (!Number.isInteger(depth) || depth < 0)
    throw new RangeError(`oneHot: depth must be a non-negative integer, got ${depth}`);
  const shape = [...indices.shape, depth];
  return bind('oneHot', [indices], depth, { id: bk.oneHot(indices, depth, dtype), shape, dtype });
}
