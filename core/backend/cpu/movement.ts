/** CPU reference data movement: strided views, pad, concat, gather, scatter-add, one-hot. */
import { allocArray, type AnyTypedArray, type DType } from '../../tensor/dtype.ts';
import { fmt, sizeOf, stridesOf, type Shape } from '../../tensor/shape.ts';
import { forEachRow } from './iterate.ts';

export function stridedRef(
  x: AnyTypedArray,
  outShape: Shape,
  strides: readonly number[],
  offset: number,
  dtype: DType,
): AnyTypedArray {
  const out = allocArray(dtype, sizeOf(outShape));
  forEachRow(outShape, [strides], (o, offs, len, st) => {
    let ix = offset + offs[0]!;
    const d = st[0]!;
    for (let j = 0; j < len; j++, ix += d) out[o + j] = x[ix]!;
  });
  return out;
}

export function padRef(
  x: AnyTypedArray,
  shape: Shape,
  before: readonly number[],
  after: readonly number[],
  value: number,
  dtype: DType,
): AnyTypedArray {
  const outShape = shape.map((d, i) => d + before[i]! + after[i]!);
  const out = allocArray(dtype, sizeOf(outShape));
  if (value !== 0) out.fill(value);
  const ost = stridesOf(outShape);
  const base = before.reduce((acc, b, i) => acc + b * ost[i]!, 0);
  // walk x's shape, writing at out strides
  forEachRow(shape, [ost], (ix, offs, len) => {
    const o = base + offs[0]!;
    for (let j = 0; j < len; j++) out[o + j] = x[ix + j]!;
  });
  return out;
}

export function concatRef(
  xs: readonly { data: AnyTypedArray; shape: Shape }[],
  axis: number,
  outShape: Shape,
  dtype: DType,
): AnyTypedArray {
  const out = allocArray(dtype, sizeOf(outShape));
  const outer = sizeOf(outShape.slice(0, axis));
  const inner = sizeOf(outShape.slice(axis + 1));
  const outRow = outShape[axis]! * inner;
  let pos = 0;
  for (const { data, shape } of xs) {
    const chunk = shape[axis]! * inner;
    for (let o = 0; o < outer; o++) out.set(data.subarray(o * chunk, (o + 1) * chunk), o * outRow + pos);
    pos += chunk;
  }
  return out;
}

/** Index i of gather / takeRows must name a row of the table (every backend that sees its indices on the host says so alike). */
export function checkTableRow(op: 'gather' | 'takeRows', r: number, i: number, tShape: Shape): void {
  const rows = tShape[0]!;
  if (r < 0 || r >= rows)
    throw new RangeError(
      `${op}: index ${r} at position ${i} is out of range for a table of ${rows} rows ${fmt(tShape)}`,
    );
}

/** Index i of scatterAdd must name one of the numRows output rows. */
export function checkScatterRow(r: number, i: number, numRows: number): void {
  if (r < 0 || r >= numRows)
    throw new RangeError(`scatterAdd: index ${r} at position ${i} is out of range for ${numRows} rows`);
}

/** `zeroRows`: index −1 leaves a zero row (takeRows) instead of throwing (gather). */
export function gatherRef(
  table: AnyTypedArray,
  tShape: Shape,
  idx: AnyTypedArray,
  dtype: DType,
  zeroRows = false,
): AnyTypedArray {
  const row = sizeOf(tShape.slice(1));
  const out = allocArray(dtype, idx.length * row);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    if (zeroRows && r === -1) continue;
    checkTableRow(zeroRows ? 'takeRows' : 'gather', r, i, tShape);
    out.set(table.subarray(r * row, (r + 1) * row), i * row);
  }
  return out;
}

export function scatterAddRef(
  idx: AnyTypedArray,
  updates: AnyTypedArray,
  numRows: number,
  row: number,
  dtype: DType,
): AnyTypedArray {
  const acc = new Float64Array(numRows * row);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    checkScatterRow(r, i, numRows);
    const o = r * row,
      u = i * row;
    for (let j = 0; j < row; j++) acc[o + j]! += updates[u + j]!;
  }
  const out = allocArray(dtype, acc.length);
  out.set(acc);
  return out;
}

export function oneHotRef(idx: AnyTypedArray, depth: number, dtype: DType): AnyTypedArray {
  const out = allocArray(dtype, idx.length * depth);
  for (let i = 0; i < idx.length; i++) {
    const k = idx[i]!;
    if (k >= 0 && k < depth) out[i * depth + k] = 1; // out-of-range → all-zero row (torch one_hot raises; ignore_index semantics)
  }
  return out;
}
