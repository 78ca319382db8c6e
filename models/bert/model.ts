/**
 * HF BertModel / RobertaModel (+ pooler, + MLM head) as a frozen encoder, module by module as HF builds it:
 * `embeddings` (BertEmbeddings), `encoder` (BertEncoder → BertLayer → BertAttention, BertIntermediate,
 * BertOutput), `pooler` and the MLM head (heads.ts), each loaded from its scope of the weights. Every
 * prompt method goes through `encode`, which takes input ids or inputs_embeds, the attention mask,
 * optional token types and position ids, and optional per-layer prefix keys/values with their mask.
 */
import {
  cast,
  concat,
  full,
  gather,
  mul,
  reshape,
  splitKey,
  sub,
  tensor,
  type Backend,
  type FloatDType,
  type PRNGKey,
  type Tensor,
} from '../../core/index.ts';
import type { BertConfig } from './config.ts';
import { BertEmbeddings, defaultPositionIds } from './embeddings.ts';
import { BertLMPredictionHead, BertPooler, RobertaLMHead, type MlmHead } from './heads.ts';
import { BertEncoder, type BertLayer, type PrefixKV } from './layer.ts';
import type { Linear } from './modules.ts';
import { outputRows, packRows, paddingPacking, selectRows, unpackRows } from './rows.ts';
import { CheckpointTensors, WeightScope, type ScopeOptions, type WeightSource } from './weight-scope.ts';

export { BertLMPredictionHead, BertPooler, MlmHead, RobertaLMHead } from './heads.ts';

export interface EncoderInputs {
  /** i32 [B, T]; give this or `inputsEmbeds`. */
  readonly inputIds?: Tensor;
  /** [B, T, d]: the path prompt methods use. */
  readonly inputsEmbeds?: Tensor;
  /** [B, T], 1 = attend, 0 = padding (any dtype); defaults to all ones. */
  readonly attentionMask?: Tensor;
  /** i32 [B, T]; defaults to zeros. */
  readonly tokenTypeIds?: Tensor;
  /** i32 [B, T]; defaults as HF computes them (shifted by the prefix length when a prefix is given). */
  readonly positionIds?: Tensor;
  /** One entry per layer: keys/values [B, H, m, Dh] placed in front of that layer's keys/values. */
  readonly prefix?: readonly PrefixKV[];
  /** [B, m] mask of the prefix positions (defaults to ones). */
  readonly prefixMask?: Tensor;
  /** Host copy of the input ids, needed only for RoBERTa's default position ids. */
  readonly hostInputIds?: Int32Array;
  /**
   * [B, m+T] multiplicative key weights in [0, 1] (1 = as the mask says; 0 = masked, differentiably):
   * dynamic prompting's length choice uses them so its gradient reaches the choice.
   */
  readonly keyWeights?: Tensor;
  /** Train-mode dropout with this key; absent = eval mode (deterministic). */
  readonly dropoutKey?: PRNGKey;
  /**
   * The positions (0 ≤ p < T) of each example whose final hidden states the caller reads, the same
   * count R for every example: `lastHiddenState` is then [B, R, d] in this order. The last layer
   * queries and transforms only these rows (a pooled or [MASK] head reads one row of T), which
   * skips about 5/6 of that layer's work; values and gradients of the returned rows are unchanged.
   */
  readonly outputPositions?: readonly (readonly number[])[];
  /** Host copy of `attentionMask` ([B·T], 0 = padding) for `skipPadding`; the prompt methods set it. */
  readonly hostAttentionMask?: ArrayLike<number>;
  /**
   * Leave the padding rows (hostAttentionMask 0) out of every layer: the kept rows are packed, so the
   * projections, the FFN and the LayerNorms skip them. Padding rows are masked keys (weight exactly
   * 0), so no kept row's value or gradient changes; padding rows of `lastHiddenState` come out 0,
   * where HF computes values nothing should read, and `outputPositions` may not name them.
   */
  readonly skipPadding?: boolean;
}

export interface EncoderOutputs {
  readonly embeddings: Tensor;
  /** [B, T, d], or [B, R, d] when `outputPositions` was given. */
  readonly lastHiddenState: Tensor;
}

/** Most negative finite value per dtype, as HF's (1 − mask)·finfo.min additive mask. */
const MASK_MIN: Record<FloatDType, number> = { f32: -3.4028234663852886e38, f64: -1.7976931348623157e308 };

export class BertModel {
  constructor(
    readonly cfg: BertConfig,
    readonly dtype: FloatDType,
    readonly bk: Backend,
    readonly embeddings: BertEmbeddings,
    readonly encoder: BertEncoder,
    /** BertPooler's dense layer (`pool` applies it as BertPooler does); absent in MLM checkpoints. */
    readonly pooler: Linear | undefined,
    readonly mlmHead: MlmHead | undefined,
  ) {}

  /**
   * Loads from normalised checkpoint names; pooler and MLM head only when present. `weightStorage: 'f16'`
   * keeps the dense layers' weights as halves (the backend must store f16), `'int8'` as 7-bit codes with a
   * scale per output channel (the backend must implement int8Matmul); both for f32 models only. Every
   * missing or misshapen tensor is reported in one error naming the source.
   */
  static load(src: WeightSource, cfg: BertConfig, bk: Backend, dtype: FloatDType, opts: ScopeOptions = {}): BertModel {
    const weightStorage = opts.weightStorage ?? 'f32';
    if (weightStorage !== 'f32' && dtype !== 'f32')
      throw new TypeError(
        `BertModel.load: ${weightStorage} weight storage needs an f32 model, got ${dtype} (its products are f32)`,
      );
    const tensors = new CheckpointTensors(src, bk, dtype);
    const model = BertModel.fromWeights(new WeightScope(tensors, '', opts), cfg);
    tensors.finish(() => model.dispose());
    return model;
  }

  /** The modules from a weights view whose root is the checkpoint's (`embeddings.*`, `encoder.*`, …). */
  static fromWeights(w: WeightScope, cfg: BertConfig): BertModel {
    const embeddings = BertEmbeddings.load(w.at('embeddings'), cfg);
    const encoder = BertEncoder.load(w.at('encoder'), cfg);
    // the pooler stays f32 under int8 storage: a classifier head may carry it into a PEFT export
    const pooler = w.part('pooler', 'pooler', 'dense.weight', (p) =>
      BertPooler.load(p.withStorage(p.weightStorage === 'int8' ? 'f32' : p.weightStorage), cfg),
    );
    const word = embeddings.wordEmbeddings.weight;
    const mlmHead =
      cfg.modelType === 'bert'
        ? w
            .at('cls')
            .part('mlmHead', 'predictions', 'transform.dense.weight', (h) => BertLMPredictionHead.load(h, cfg, word))
        : w.part('mlmHead', 'lm_head', 'dense.weight', (h) => RobertaLMHead.load(h, cfg, word));
    return new BertModel(cfg, w.dtype, w.bk, embeddings, encoder, pooler?.dense, mlmHead);
  }

  /** HF's `encoder.layer`. */
  get layers(): readonly BertLayer[] {
    return this.encoder.layer;
  }

  /** The same frozen encoder with another pooler (a PEFT adapter's): shares every other tensor. */
  withPooler(pooler: Linear | undefined): BertModel {
    return new BertModel(this.cfg, this.dtype, this.bk, this.embeddings, this.encoder, pooler, this.mlmHead);
  }

  get wordEmbeddings(): Tensor {
    return this.embeddings.wordEmbeddings.weight;
  }

  /** Word embeddings of i32 ids [B, T] → [B, T, d] (what `inputs_embeds` replaces). */
  embed(inputIds: Tensor): Tensor {
    return gather(this.wordEmbeddings, inputIds);
  }

  encode(inp: EncoderInputs): EncoderOutputs {
    const x = inp.inputsEmbeds ?? (inp.inputIds ? this.embed(inp.inputIds) : undefined);
    if (!x) throw new Error('BertModel.encode: give inputIds or inputsEmbeds');
    const [B, T, d] = x.shape as [number, number, number];
    if (d !== this.cfg.hiddenSize || x.rank !== 3)
      throw new Error(
        `BertModel.encode: inputs_embeds ${JSON.stringify(x.shape)} must be [B, T, ${this.cfg.hiddenSize}]`,
      );
    const L = this.layers.length;
    if (inp.prefix && inp.prefix.length !== L) {
      throw new Error(`BertModel.encode: prefix has ${inp.prefix.length} layers, the model has ${L}`);
    }
    const m = inp.prefix?.[0]?.key.shape[2] ?? 0;
    const bk = this.bk;
    const positionIds =
      inp.positionIds ??
      tensor(bk, defaultPositionIds(this.cfg, B, T, m, inp.hostInputIds), { shape: [B, T], dtype: 'i32' });
    if (this.cfg.modelType === 'roberta' && !inp.positionIds && !inp.hostInputIds && inp.inputIds) {
      throw new Error(
        'BertModel.encode: RoBERTa needs hostInputIds (or explicit positionIds) to compute position ids from input ids',
      );
    }
    const tokenTypeIds = inp.tokenTypeIds ?? full(bk, [B, T], 0, 'i32');
    const [kEmb, ...dropoutKeys] = inp.dropoutKey ? splitKey(inp.dropoutKey, L + 1) : [];
    const embeddings = this.embeddings.forward(x, positionIds, tokenTypeIds, kEmb);

    let mask: Tensor = inp.attentionMask ? cast(inp.attentionMask, this.dtype) : full(bk, [B, T], 1, this.dtype);
    if (m > 0)
      mask = concat([inp.prefixMask ? cast(inp.prefixMask, this.dtype) : full(bk, [B, m], 1, this.dtype), mask], 1);
    const maskBias = mul(reshape(sub(1, mask), [B, 1, 1, m + T]), MASK_MIN[this.dtype]);

    const keyWeights = inp.keyWeights ? reshape(inp.keyWeights, [B, 1, 1, m + T]) : undefined;
    const packing = inp.skipPadding
      ? paddingPacking(bk, inp.hostAttentionMask, B, T, this.cfg.numAttentionHeads)
      : undefined;
    const rows = inp.outputPositions ? outputRows(bk, inp.outputPositions, B, T, packing?.slot) : undefined;
    let h = this.encoder.forward(packing ? packRows(embeddings, packing) : embeddings, {
      maskBias,
      prefix: inp.prefix,
      dropoutKeys: inp.dropoutKey ? dropoutKeys : undefined,
      keyWeights,
      rows,
      packing,
    });
    if (rows && L === 0) h = selectRows(h, rows, B);
    return { embeddings, lastHiddenState: packing && !rows ? unpackRows(h, packing) : h };
  }

  /** HF BertPooler: tanh(dense(h[:, 0])). */
  pool(lastHiddenState: Tensor, pooler: Linear | undefined = this.pooler): Tensor {
    if (!pooler) throw new Error('BertModel.pool: this checkpoint has no pooler (pooler.dense.*); pass one explicitly');
    return new BertPooler(pooler).forward(lastHiddenState);
  }

  mlmLogits(hidden: Tensor): Tensor {
    if (!this.mlmHead)
      throw new Error('BertModel.mlmLogits: this checkpoint has no MLM head (cls.predictions.* / lm_head.*)');
    return this.mlmHead.forward(hidden);
  }

  dispose(): void {
    this.embeddings.dispose();
    this.encoder.dispose();
    this.pooler?.dispose();
    this.mlmHead?.dispose();
  }
}
