/**
 * HF BertAttention (modeling_bert.py) module by module: BertSelfAttention (query, key, value → scaled
 * dot-product attention over the heads) and BertSelfOutput (dense, dropout, LayerNorm(x + input)).
 * Optional per-layer prefix keys/values (P-tuning v2) are concatenated in front of the layer's own.
 */
import {
  add,
  attention,
  concat,
  dropout,
  invertRowMap,
  matmul,
  moveRows,
  permute,
  reshape,
  scaledDotProductProbs,
  type PRNGKey,
  type Tensor,
} from '../../core/index.ts';
import type { BertConfig } from './config.ts';
import { foldedAttention, foldPays } from './attention-folded.ts';
import { LayerNorm, Linear } from './modules.ts';
import { unpackRows, type RowPacking } from './rows.ts';
import type { WeightScope } from './weight-scope.ts';

/** Prefix keys and values of one layer: [B, H, m, Dh] each. */
export interface PrefixKV {
  readonly key: Tensor;
  readonly value: Tensor;
}

/** What every attention layer reads besides its hidden states. */
export interface AttentionInputs {
  /** Additive mask [B, 1, 1, m+T]. */
  readonly maskBias: Tensor;
  /** This layer's prefix keys/values [B, H, m, Dh]. */
  readonly prefix?: PrefixKV | undefined;
  /** Multiplicative key weights [B, 1, 1, m+T] (see `attention`). */
  readonly keyWeights?: Tensor | undefined;
  /** Padding rows left out: x is packed [N, d]. */
  readonly packing?: RowPacking | undefined;
  /** Train-mode dropout with this key; absent = eval mode. */
  readonly dropoutKey?: PRNGKey | undefined;
}

export const maybeDropout = (x: Tensor, key: PRNGKey | undefined, p: number): Tensor =>
  key && p > 0 ? dropout(x, key, p) : x;

export class BertSelfAttention {
  constructor(
    readonly query: Linear,
    readonly key: Linear,
    readonly value: Linear,
    readonly heads: number,
    readonly probsDropout: number,
  ) {}

  static load(w: WeightScope, cfg: BertConfig): BertSelfAttention {
    const d = cfg.hiddenSize;
    const query = Linear.load(w.at('query'), d, d);
    const key = Linear.load(w.at('key'), d, d);
    const value = Linear.load(w.at('value'), d, d);
    return new BertSelfAttention(query, key, value, cfg.numAttentionHeads, cfg.attentionProbsDropoutProb);
  }

  /** [B, T, d] → [B, H, T, Dh]; packed [N, d] → [B, H, T, Dh] in one row move (zeros on padding rows). */
  private heads_(x: Tensor, packing: RowPacking | undefined): Tensor {
    const d = x.shape.at(-1)!,
      H = this.heads,
      Dh = d / H;
    if (x.rank === 2)
      return reshape(moveRows(reshape(x, [x.shape[0]! * H, Dh]), invertRowMap(packing!.heads)), [
        packing!.B,
        H,
        packing!.T,
        Dh,
      ]);
    const [B, T] = x.shape as [number, number, number];
    return permute(reshape(x, [B, T, H, Dh]), [0, 2, 1, 3]);
  }

  /**
   * x [B, T, d] (or packed [N, d] with `packing`); `queries`: the rows that attend, x (the default) or
   * [B, R, d] → context in the queries' shape.
   */
  forward(x: Tensor, inp: AttentionInputs & { readonly queries?: Tensor }): Tensor {
    const { packing, prefix, dropoutKey, keyWeights, maskBias } = inp;
    const queries = inp.queries ?? x;
    const probsDropout = dropoutKey !== undefined && this.probsDropout > 0;
    // a few selected rows (the pooled row of the last layer): keys and values folded into the queries
    const T = x.rank === 2 ? packing!.T : x.shape[1]!;
    if (queries !== x && queries.rank === 3 && !prefix && foldPays(queries.shape[1]!, this.heads, T))
      return foldedAttention(this.key, this.value, {
        x: x.rank === 2 ? unpackRows(x, packing!) : x,
        q: this.query.forward(queries),
        maskBias,
        keyWeights,
        heads: this.heads,
        dropout: probsDropout ? { key: dropoutKey, p: this.probsDropout } : undefined,
      });
    const q = this.heads_(this.query.forward(queries), packing);
    let k = this.heads_(this.key.forward(x), packing);
    let v = this.heads_(this.value.forward(x), packing);
    const [B, H, R, Dh] = q.shape as [number, number, number, number];
    if (prefix) {
      k = concat([prefix.key, k], 2);
      v = concat([prefix.value, v], 2);
    }
    // Attention-probability dropout needs the probabilities, so it takes the unfused composite path.
    const ctxH = probsDropout
      ? attentionWithDropout(q, k, v, maskBias, dropoutKey, this.probsDropout, keyWeights)
      : attention(q, k, v, maskBias, 1 / Math.sqrt(Dh), keyWeights);
    // packed queries: the kept rows' heads straight back to [N, d] in one row move
    if (queries.rank === 2)
      return reshape(moveRows(reshape(ctxH, [B * H * R, Dh]), packing!.heads), [queries.shape[0]!, H * Dh]);
    return reshape(permute(ctxH, [0, 2, 1, 3]), [B, R, H * Dh]);
  }

  dispose(): void {
    this.query.dispose();
    this.key.dispose();
    this.value.dispose();
  }
}

function attentionWithDropout(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias: Tensor,
  key: PRNGKey,
  p: number,
  keyWeights?: Tensor,
): Tensor {
  return matmul(dropout(scaledDotProductProbs(q, k, bias, 1 / Math.sqrt(q.shape.at(-1)!), keyWeights), key, p), v);
}

/** dense → dropout → LayerNorm(x + residual): the shape HF's BertSelfOutput and BertOutput share. */
export abstract class DenseResidualNorm {
  constructor(
    readonly dense: Linear,
    readonly layerNorm: LayerNorm,
    readonly dropoutP: number,
  ) {}
  forward(x: Tensor, residual: Tensor, dropoutKey?: PRNGKey): Tensor {
    return this.layerNorm.forward(add(maybeDropout(this.dense.forward(x), dropoutKey, this.dropoutP), residual));
  }
  dispose(): void {
    this.dense.dispose();
    this.layerNorm.dispose();
  }
}

/** HF BertSelfOutput: dense d → d, dropout, LayerNorm(x + attention input). */
export class BertSelfOutput extends DenseResidualNorm {
  static load(w: WeightScope, cfg: BertConfig): BertSelfOutput {
    const dense = Linear.load(w.at('dense'), cfg.hiddenSize, cfg.hiddenSize);
    const norm = LayerNorm.load(w.at('LayerNorm'), cfg.hiddenSize, cfg.layerNormEps);
    return new BertSelfOutput(dense, norm, cfg.hiddenDropoutProb);
  }
}

/** HF BertAttention: `self` (BertSelfAttention) then `output` (BertSelfOutput). */
export class BertAttention {
  constructor(
    readonly self: BertSelfAttention,
    readonly output: BertSelfOutput,
  ) {}

  static load(w: WeightScope, cfg: BertConfig): BertAttention {
    const self = BertSelfAttention.load(w.at('self'), cfg);
    return new BertAttention(self, BertSelfOutput.load(w.at('output'), cfg));
  }

  /** `queries` (default x) are both the attending rows and the residual; dropout keys: attention, output. */
  forward(
    x: Tensor,
    inp: AttentionInputs & { readonly queries?: Tensor; readonly outputKey?: PRNGKey | undefined },
  ): Tensor {
    return this.output.forward(this.self.forward(x, inp), inp.queries ?? x, inp.outputKey);
  }

  dispose(): void {
    this.self.dispose();
    this.output.dispose();
  }
}
