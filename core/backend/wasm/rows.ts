/**
 * Row gather, takeRows and scatter-add for f32 on the WASM backend, all as `copy_rows` (strided.ts:
 * dst row r = src[off[r] …]) across the pool: the packed-row encoder moves rows of Dh = 64 floats by the
 * thousand, where one TypedArray.set per row costs more in call overhead than the bytes it moves.
 * A scatter-add with distinct indices is such a copy (every output row is one update row or zero);
 * repeated indices are summed by the reference. The index checks are the reference's own (cpu/movement.ts).
 */
import type { AnyTypedArray } from '../../tensor/dtype.ts';
import type { Shape } from '../../tensor/shape.ts';
import { checkScatterRow, checkTableRow } from '../cpu/movement.ts';
import { rowSplit, type KernelHost } from './layout.ts';

/**
 * gather's / takeRows' source row per output row, checked: −1 (a zero row) only for takeRows; throws
 * the reference's RangeError on any other index outside [0, rows).
 */
export function sourceRows(idx: AnyTypedArray, tShape: Shape, op: 'gather' | 'takeRows'): Int32Array {
  const src = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    if (!(op === 'takeRows' && r === -1)) checkTableRow(op, r, i, tShape);
    src[i] = r;
  }
  return src;
}

/**
 * Per output row, the update row scattered onto it (−1: none), or undefined when an index repeats.
 * Throws the reference's RangeError on an index outside [0, numRows).
 */
export function scatterSources(idx: AnyTypedArray, numRows: number): Int32Array | undefined {
  const src = new Int32Array(numRows).fill(-1);
  let distinct = true;
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    checkScatterRow(r, i, numRows);
    if (src[r] !== -1) distinct = false;
    src[r] = i;
  }
  return distinct ? src : undefined;
}

/** out row r (n floats) = the n floats at srcP + 4·offs[r] (offsets may be negative: any heap row). */
export function copyRowsAt(
  host: KernelHost<'copy_rows'>,
  srcP: number,
  outP: number,
  offs: Int32Array,
  n: number,
): void {
  const rows = offs.length;
  if (rows === 0 || n === 0) return;
  const offP = host.scratch(4 * rows);
  host.i32.set(offs, offP >>> 2);
  host.run(
    'copy_rows',
    rowSplit(rows, host.chunks(rows * n, rows), (lo, hi) => [srcP, outP, offP, n, lo, hi]),
  );
}
