/**
 * One transformer layer as HF structures it (modeling_bert.py): BertSelfAttention → BertSelfOutput
 * (dense, dropout, LayerNorm(x + input)) → BertIntermediate (dense, act) → BertOutput (dense,
 * dropout, LayerNorm(x + attention output)). Optional per-layer prefix keys/values (P-tuning v2)
 * are concatenated in front of this layer's keys and values.
 */
import {
  add,
  attention,
  attentionProbs,
  concat,
  dropout,
  gelu,
  invertRowMap,
  matmul,
  moveRows,
  mul,
  permute,
  pow,
  relu,
  reshape,
  softmax,
  splitKey,
  tanh,
  type PRNGKey,
  type Tensor,
} from '../../core/index.ts';
import { selectRows, type RowPacking } from './rows.ts';
import type { BertConfig, HiddenAct } from './config.ts';
import { LayerNorm, Linear, type LoadContext } from './modules.ts';

/** Prefix keys and values of one layer: [B, H, m, Dh] each. */
export interface PrefixKV {
  readonly key: Tensor;
  readonly value: Tensor;
}

function activation(act: HiddenAct, x: Tensor): Tensor {
  switch (act) {
    case 'gelu':
      return gelu(x);
    case 'relu':
      return relu(x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh': // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      return mul(mul(x, 0.5), add(1, tanh(mul(add(x, mul(pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI)))));
  }
}

const maybeDropout = (x: Tensor, key: PRNGKey | undefined, p: number): Tensor =>
  key && p > 0 ? dropout(x, key, p) : x;

export class BertSelfAttention {
  constructor(
    readonly query: Linear,
    readonly key: Linear,
    readonly value: Linear,
    readonly heads: number,
    readonly probsDropout: number,
  ) {}

  static load(ctx: LoadContext, prefix: string, cfg: BertConfig): BertSelfAttention {
    const d = cfg.hiddenSize;
    return new BertSelfAttention(
      Linear.load(ctx, `${prefix}.query`, d, d),
      Linear.load(ctx, `${prefix}.key`, d, d),
      Linear.load(ctx, `${prefix}.value`, d, d),
      cfg.numAttentionHeads,
      cfg.attentionProbsDropoutProb,
    );
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
   * x [B, T, d] (or packed [N, d] with `packing`); maskBias additive [B, 1, 1, m+T]; prefix [B, H, m, Dh];
   * keyWeights [B, 1, 1, m+T] (multiplicative, see `attention`); queries: the rows that attend, x (the
   * default) or [B, R, d] → context in the queries' shape.
   */
  forward(
    x: Tensor,
    maskBias: Tensor,
    prefix?: PrefixKV,
    dropoutKey?: PRNGKey,
    keyWeights?: Tensor,
    queries: Tensor = x,
    packing?: RowPacking,
  ): Tensor {
    const q = this.heads_(this.query.forward(queries), packing);
    let k = this.heads_(this.key.forward(x), packing);
    let v = this.heads_(this.value.forward(x), packing);
    const [B, H, R, Dh] = q.shape as [number, number, number, number];
    if (prefix) {
      k = concat([prefix.key, k], 2);
      v = concat([prefix.value, v], 2);
    }
    // Attention-probability dropout needs the probabilities, so it takes the unfused composite path.
    const ctxH =
      dropoutKey && this.probsDropout > 0
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
  const scores = add(mul(matmul(q, k, false, true), 1 / Math.sqrt(q.shape.at(-1)!)), bias);
  return matmul(dropout(attentionProbs(softmax(scores, -1), keyWeights), key, p), v);
}

/** dense → dropout → LayerNorm(x + residual): HF BertSelfOutput and BertOutput share this shape. */
export class DenseResidualNorm {
  constructor(
    readonly dense: Linear,
    readonly layerNorm: LayerNorm,
    readonly dropoutP: number,
  ) {}
  static load(ctx: LoadContext, prefix: string, inF: number, cfg: BertConfig): DenseResidualNorm {
    return new DenseResidualNorm(
      Linear.load(ctx, `${prefix}.dense`, inF, cfg.hiddenSize),
      LayerNorm.load(ctx, `${prefix}.LayerNorm`, cfg.hiddenSize, cfg.layerNormEps),
      cfg.hiddenDropoutProb,
    );
  }
  forward(x: Tensor, residual: Tensor, dropoutKey?: PRNGKey): Tensor {
    return this.layerNorm.forward(add(maybeDropout(this.dense.forward(x), dropoutKey, this.dropoutP), residual));
  }
  dispose(): void {
    this.dense.dispose();
    this.layerNorm.dispose();
  }
}

export class BertLayer {
  constructor(
    readonly selfAttention: BertSelfAttention,
    readonly attentionOutput: DenseResidualNorm,
    readonly intermediate: Linear,
    readonly output: DenseResidualNorm,
    readonly act: HiddenAct,
  ) {}

  static load(ctx: LoadContext, i: number, cfg: BertConfig): BertLayer {
    const p = `encoder.layer.${i}`;
    return new BertLayer(
      BertSelfAttention.load(ctx, `${p}.attention.self`, cfg),
      DenseResidualNorm.load(ctx, `${p}.attention.output`, cfg.hiddenSize, cfg),
      Linear.load(ctx, `${p}.intermediate.dense`, cfg.hiddenSize, cfg.intermediateSize),
      DenseResidualNorm.load(ctx, `${p}.output`, cfg.intermediateSize, cfg),
      cfg.hiddenAct,
    );
  }

  /**
   * x [B, T, d] → [B, T, d] (packed [N, d] → [N, d] with `packing`), or [B, R, d] with `rows` (flat
   * i32 indices into the rows of x, R per example): every row still serves as a key and value, but
   * only the selected rows are queried and carried through the FFN, so the rest of this layer's
   * output is never computed.
   */
  forward(
    x: Tensor,
    maskBias: Tensor,
    prefix?: PrefixKV,
    dropoutKey?: PRNGKey,
    keyWeights?: Tensor,
    rows?: Tensor,
    packing?: RowPacking,
  ): Tensor {
    const [k1, k2, k3] = dropoutKey ? splitKey(dropoutKey, 3) : [];
    const xq = rows ? selectRows(x, rows, maskBias.shape[0]!) : x;
    const attn = this.attentionOutput.forward(
      this.selfAttention.forward(x, maskBias, prefix, k1, keyWeights, xq, packing),
      xq,
      k2,
    );
    const inter = activation(this.act, this.intermediate.forward(attn));
    return this.output.forward(inter, attn, k3);
  }

  dispose(): void {
    this.selfAttention.dispose();
    this.attentionOutput.dispose();
    this.intermediate.dispose();
    this.output.dispose();
  }
}
