/**
 * Which rows the encoder computes. `skipPadding` packs the kept rows ([N, d] between layers, onto the
 * [B, H, T, Dh] attention layout and back by one-to-one row moves); `outputPositions` selects the rows
 * the last layer queries and transforms. Neither changes the values or gradients of the rows kept.
 */
import {
  gather,
  invertRowMap,
  moveRows,
  reshape,
  rowMap,
  tensor,
  type Backend,
  type RowMap,
  type Tensor,
} from '../../core/index.ts';

/**
 * Padding rows left out: the kept rows (flat indices into B·T, ascending) are packed, so hidden states
 * are [N, d] (rank 2) between layers and go onto the [B, H, T, Dh] attention layout only inside
 * attention, with zeros on the padding rows (masked keys: they weigh exactly 0). Every move is a
 * one-to-one row map (moveRows), so the backward is a row copy too, never a scatter-add.
 */
export interface RowPacking {
  /** [B·T] grid rows → [N] packed rows. */
  readonly pack: RowMap;
  /** [B·H·T] attention-layout rows → [N·H] packed head rows (packed row n, head h at n·H + h). */
  readonly heads: RowMap;
  readonly B: number;
  readonly T: number;
}

/** The packing of the grid rows `keep` (flat indices into B·T, ascending) for H heads. */
export function rowPacking(bk: Backend, keep: Int32Array, B: number, T: number, H: number): RowPacking {
  const headRows = new Int32Array(keep.length * H);
  keep.forEach((g, n) => {
    const b = Math.floor(g / T),
      t = g - b * T;
    for (let h = 0; h < H; h++) headRows[n * H + h] = (b * H + h) * T + t;
  });
  return { pack: rowMap(bk, keep, B * T), heads: rowMap(bk, headRows, B * H * T), B, T };
}

/** [B, T, d] → packed [N, d]. */
export const packRows = (x: Tensor, p: RowPacking): Tensor =>
  moveRows(reshape(x, [p.B * p.T, x.shape.at(-1)!]), p.pack);
/** Packed [N, d] → [B, T, d], zeros on the padding rows. */
export const unpackRows = (x: Tensor, p: RowPacking): Tensor =>
  reshape(moveRows(x, invertRowMap(p.pack)), [p.B, p.T, x.shape[1]!]);

/** x [B, T, d] or packed [N, d], rows i32 [B·R] (flat indices into its rows) → [B, R, d]. */
export function selectRows(x: Tensor, rows: Tensor, B: number): Tensor {
  const d = x.shape.at(-1)!;
  return reshape(gather(reshape(x, [x.size / d, d]), rows), [B, rows.shape[0]! / B, d]);
}

/**
 * `skipPadding`'s packing from the host mask, with `slot` mapping each flat grid row to its packed
 * row (−1: padding); undefined when nothing is padding (packing would only add copies).
 */
export function paddingPacking(
  bk: Backend,
  mask: ArrayLike<number> | undefined,
  B: number,
  T: number,
  heads: number,
): (RowPacking & { readonly slot: Int32Array }) | undefined {
  if (!mask) throw new Error('BertModel.encode: skipPadding needs hostAttentionMask (the host copy of attentionMask)');
  if (mask.length !== B * T)
    throw new Error(
      `BertModel.encode: hostAttentionMask has ${mask.length} entries, the inputs have B·T = ${B}·${T} = ${B * T}`,
    );
  const slot = new Int32Array(B * T).fill(-1),
    keep: number[] = [];
  for (let i = 0; i < B * T; i++)
    if (mask[i] !== 0) {
      slot[i] = keep.length;
      keep.push(i);
    }
  if (keep.length === B * T) return undefined;
  return { ...rowPacking(bk, Int32Array.from(keep), B, T, heads), slot };
}

/**
 * Validated `outputPositions` → i32 row indices [B·R]: into the B·T grid rows, or through `slot` into
 * the packed rows.
 */
export function outputRows(
  bk: Backend,
  positions: readonly (readonly number[])[],
  B: number,
  T: number,
  slot?: Int32Array,
): Tensor {
  const R = positions[0]?.length ?? 0;
  if (positions.length !== B)
    throw new Error(`BertModel.encode: outputPositions has ${positions.length} rows for a batch of ${B}`);
  const flat = new Int32Array(B * R);
  positions.forEach((ps, b) => {
    if (ps.length !== R || R === 0)
      throw new Error(
        `BertModel.encode: outputPositions[${b}] has ${ps.length} positions; every example needs the same count (≥ 1), here ${R}`,
      );
    ps.forEach((p, r) => {
      if (!Number.isInteger(p) || p < 0 || p >= T)
        throw new RangeError(
          `BertModel.encode: outputPositions[${b}][${r}] = ${p} is outside the ${T} input positions`,
        );
      const row = slot ? slot[b * T + p]! : b * T + p;
      if (row < 0)
        throw new RangeError(
          `BertModel.encode: outputPositions[${b}][${r}] = ${p} is a padding row, which skipPadding leaves out`,
        );
      flat[b * R + r] = row;
    });
  });
  return tensor(bk, flat, { shape: [B * R], dtype: 'i32' });
}
