/**
 * Self-attention for a few query rows (the last layer when only the pooled row is read) with the key and
 * value projections folded into the queries, so the layer never projects the T rows it only attends to.
 * Per head h, with x the layer's input rows and P'_h the (dropped-out) probabilities:
 *   scores_h = q_h · (x·Wk_hᵀ + bk_h)ᵀ = (q_h·Wk_h) · xᵀ + q_h·bk_h
 *   ctx_h    = P'_h · (x·Wv_hᵀ + bv_h) = (P'_h · x) · Wv_hᵀ + rowsum(P'_h)·bv_h
 * q_h·bk_h is one constant per query row and head, which softmax (and keyWeights' renormalisation) cancels,
 * so it is dropped. What is left is one attention of H·R "queries" q̃ = q_h·Wk_h over the rows x themselves
 * (key = value = x, width d), then u·Wvᵀ keeping each head's own block of columns. The queries are ordered
 * head-major ([B, H, R]), as the plain path's [B, H, R, T] probabilities, so attention dropout draws the same
 * mask for the same key; without dropout every row of P sums to 1 and the bias is added once.
 * Cost: 2·R·H·d² + 2·R·H·T·d an example against the standard 2·T·d² + 2·R·T·d, and the backward likewise:
 * at R·H ≪ T (bert-small's pooled row: 4 against 84) it removes the layer's two largest products (the
 * key and value projections of every row) and their gradients. Same values and gradients up to f32
 * reassociation; with int8 weights both products go through the same quantized weights (the query side
 * quantized per row instead of x). Not for prefixes (their keys live in head space). Queries that see no
 * key cannot occur: masked keys score finfo.min, not −∞ (model.ts), so every row of P sums to 1.
 */
import {
  add,
  attention,
  dropout,
  matmul,
  mul,
  reshape,
  scaledDotProductProbs,
  sum,
  tensor,
  type PRNGKey,
  type Tensor,
} from '../../core/index.ts';
import type { Linear } from './modules.ts';

/** Whether BertSelfAttention folds where it pays (mutable: tests and benches compare against the plain path). */
export const FOLDED_ATTENTION = { enabled: true };

/** Whether folding is on and cheaper than projecting every row: R·H query rows against T key rows. */
export const foldPays = (queryRows: number, heads: number, keyRows: number): boolean =>
  FOLDED_ATTENTION.enabled && queryRows * heads < keyRows;

/** [H, 1, d] in like's dtype: 1 where column c belongs to head h (c in [h·Dh, (h+1)·Dh)), else 0. */
function headBlocks(like: Tensor, H: number, d: number): Tensor {
  const Dh = d / H,
    m = new Float64Array(H * d);
  for (let h = 0; h < H; h++) m.fill(1, h * d + h * Dh, h * d + (h + 1) * Dh);
  return tensor(like.backend, m, { shape: [H, 1, d], dtype: like.dtype });
}

export interface FoldedAttentionInputs {
  /** The layer's input rows [B, T, d] (zeros on padding rows). */
  readonly x: Tensor;
  /** The query projection of the attending rows, bias included: [B, R, d]. */
  readonly q: Tensor;
  /** Additive mask [B, 1, 1, T]. */
  readonly maskBias: Tensor;
  readonly keyWeights?: Tensor | undefined;
  readonly heads: number;
  /** Attention-probability dropout (train mode). */
  readonly dropout?: { readonly key: PRNGKey; readonly p: number } | undefined;
}

/** ctx [B, R, d] of `q` attending over `x` through the key and value projections `key`, `value`. */
export function foldedAttention(key: Linear, value: Linear, inp: FoldedAttentionInputs): Tensor {
  const { x, q, maskBias, keyWeights, heads: H } = inp;
  const [B, R, d] = q.shape as [number, number, number];
  const T = x.shape[1]!,
    scale = 1 / Math.sqrt(d / H);
  const blocks = headBlocks(q, H, d);
  // q̂ [B·H·R, d]: row (b, h, r) holds q_h in head h's columns and zeros elsewhere, so q̂·Wk = q_h·Wk_h
  const qHat = mul(reshape(q, [B, 1, R, d]), blocks);
  const qFolded = reshape(key.projectBack(reshape(qHat, [B * H * R, d])), [B, 1, H * R, d]);
  const rows = reshape(x, [B, 1, T, d]);
  let u: Tensor, rowSums: Tensor | undefined;
  if (inp.dropout) {
    // the plain path's composite (attention.ts attentionWithDropout) on the folded queries
    const probs = dropout(
      scaledDotProductProbs(qFolded, rows, maskBias, scale, keyWeights),
      inp.dropout.key,
      inp.dropout.p,
    );
    u = matmul(probs, rows);
    rowSums = reshape(sum(probs, -1), [B, H, R, 1]);
  } else u = attention(qFolded, rows, rows, maskBias, scale, keyWeights);
  // u·Wvᵀ (+ rowsum·bv under dropout) for every head's row; head h keeps its own block of columns, and the
  // sum over h concatenates them
  let projected = reshape(value.project(reshape(u, [B * H * R, d])), [B, H, R, d]);
  if (rowSums) projected = add(projected, mul(rowSums, value.bias));
  const ctx = sum(mul(projected, blocks), 1);
  return rowSums ? ctx : value.addBias(ctx);
}
