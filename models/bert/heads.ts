/**
 * The encoder's HF heads: BertPooler (tanh(dense(h[:, 0]))) and the MLM head, BertLMPredictionHead
 * (`cls.predictions`: transform.dense → gelu → transform.LayerNorm → tied decoder + bias) or its RoBERTa
 * variant RobertaLMHead (`lm_head`: dense → gelu → layer_norm → decoder + bias).
 */
import { add, gelu, linear, reshape, slice, tanh, type Tensor } from '../../core/index.ts';
import type { BertConfig } from './config.ts';
import { LayerNorm, Linear } from './modules.ts';
import type { WeightScope } from './weight-scope.ts';

/** HF BertPooler: tanh(dense(h[:, 0])). */
export class BertPooler {
  constructor(readonly dense: Linear) {}
  static load(w: WeightScope, cfg: BertConfig): BertPooler {
    return new BertPooler(Linear.load(w.at('dense'), cfg.hiddenSize, cfg.hiddenSize));
  }
  /** [B, T, d] → [B, d] */
  forward(hidden: Tensor): Tensor {
    const [B, , d] = hidden.shape as [number, number, number];
    return tanh(this.dense.forward(reshape(slice(hidden, [0, 0, 0], [B, 1, d]), [B, d])));
  }
  dispose(): void {
    this.dense.dispose();
  }
}

/** The MLM head both layouts load into: transform dense → gelu → LayerNorm → decoder (tied or own) + bias. */
export class MlmHead {
  constructor(
    readonly dense: Linear,
    readonly layerNorm: LayerNorm,
    readonly decoder: Tensor,
    readonly bias: Tensor,
    readonly ownsDecoder: boolean,
  ) {}

  /** The decoder and bias of either layout: the decoder is tied to the word embeddings unless the config unties it and the checkpoint stores one. */
  protected static decoderAndBias(
    w: WeightScope,
    cfg: BertConfig,
    wordEmbeddings: Tensor,
  ): { decoder: Tensor; bias: Tensor; untied: boolean } {
    const d = cfg.hiddenSize,
      V = cfg.vocabSize;
    const bias = w.tensor('bias', [V]);
    // The decoder stays f32 even with f16 storage: the verbalizer gathers its rows.
    const own = cfg.tieWordEmbeddings ? undefined : w.at('decoder').optional('weight', [V, d]);
    if (!own) w.at('decoder').tied('weight', [V, d]);
    w.at('decoder').tied('bias', [V]); // HF ties decoder.bias to bias
    return { decoder: own ?? wordEmbeddings, bias, untied: own !== undefined };
  }

  /** hidden [..., d] → logits [..., V] */
  forward(hidden: Tensor): Tensor {
    const t = this.layerNorm.forward(gelu(this.dense.forward(hidden)));
    return add(linear(t, this.decoder), this.bias);
  }

  dispose(): void {
    this.dense.dispose();
    this.layerNorm.dispose();
    this.bias.dispose();
    if (this.ownsDecoder) this.decoder.dispose();
  }
}

/** HF BertLMPredictionHead, under `cls.predictions`. */
export class BertLMPredictionHead extends MlmHead {
  static load(w: WeightScope, cfg: BertConfig, wordEmbeddings: Tensor): BertLMPredictionHead {
    const t = w.at('transform');
    const dense = Linear.load(t.at('dense'), cfg.hiddenSize, cfg.hiddenSize);
    const norm = LayerNorm.load(t.at('LayerNorm'), cfg.hiddenSize, cfg.layerNormEps);
    const { decoder, bias, untied } = MlmHead.decoderAndBias(w, cfg, wordEmbeddings);
    return new BertLMPredictionHead(dense, norm, decoder, bias, untied);
  }
}

/** HF RobertaLMHead, under `lm_head`. */
export class RobertaLMHead extends MlmHead {
  static load(w: WeightScope, cfg: BertConfig, wordEmbeddings: Tensor): RobertaLMHead {
    const dense = Linear.load(w.at('dense'), cfg.hiddenSize, cfg.hiddenSize);
    const norm = LayerNorm.load(w.at('layer_norm'), cfg.hiddenSize, cfg.layerNormEps);
    const { decoder, bias, untied } = MlmHead.decoderAndBias(w, cfg, wordEmbeddings);
    return new RobertaLMHead(dense, norm, decoder, bias, untied);
  }
}
