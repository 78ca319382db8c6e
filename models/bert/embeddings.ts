/**
 * HF BertEmbeddings / RobertaEmbeddings (modeling_bert.py, modeling_roberta.py in transformers 5.x):
 * LayerNorm(inputs_embeds + position_embeddings(position_ids) + token_type_embeddings(token_type_ids)).
 * RoBERTa's position ids are their own rule (running count of non-pad tokens + padding_idx).
 */
import { add, dropout, tensor, type Backend, type PRNGKey, type Tensor } from '../../core/index.ts';
import type { BertConfig } from './config.ts';
import { Embedding, LayerNorm } from './modules.ts';
import type { WeightScope } from './weight-scope.ts';

export class BertEmbeddings {
  constructor(
    readonly wordEmbeddings: Embedding,
    readonly positionEmbeddings: Embedding,
    readonly tokenTypeEmbeddings: Embedding,
    readonly layerNorm: LayerNorm,
    readonly cfg: BertConfig,
  ) {}

  /** RobertaEmbeddings has the same weights; only its position ids differ (defaultPositionIds). */
  static load(w: WeightScope, cfg: BertConfig): BertEmbeddings {
    const d = cfg.hiddenSize;
    const word = Embedding.load(w.at('word_embeddings'), cfg.vocabSize, d);
    const position = Embedding.load(w.at('position_embeddings'), cfg.maxPositionEmbeddings, d);
    const tokenType = Embedding.load(w.at('token_type_embeddings'), cfg.typeVocabSize, d);
    return new BertEmbeddings(word, position, tokenType, LayerNorm.load(w.at('LayerNorm'), d, cfg.layerNormEps), cfg);
  }

  /** inputsEmbeds [B, T, d], positionIds / tokenTypeIds i32 [B, T] → [B, T, d]. */
  forward(inputsEmbeds: Tensor, positionIds: Tensor, tokenTypeIds: Tensor, dropoutKey?: PRNGKey): Tensor {
    const h = add(
      add(inputsEmbeds, this.positionEmbeddings.forward(positionIds)),
      this.tokenTypeEmbeddings.forward(tokenTypeIds),
    );
    const y = this.layerNorm.forward(h);
    return dropoutKey ? dropout(y, dropoutKey, this.cfg.hiddenDropoutProb) : y;
  }

  dispose(): void {
    for (const m of [this.wordEmbeddings, this.positionEmbeddings, this.tokenTypeEmbeddings, this.layerNorm])
      m.dispose();
  }
}

/**
 * Default position ids, computed on the host from ids/mask (they are data, not parameters).
 * BERT: offset..offset+T-1 (HF shifts by the past/prefix length). RoBERTa from input ids:
 * (cumsum(ids ≠ pad) + offset)·(ids ≠ pad) + pad; from inputs_embeds: pad+1+offset … pad+T+offset.
 */
export function defaultPositionIds(
  cfg: BertConfig,
  B: number,
  T: number,
  offset: number,
  inputIds?: Int32Array,
): Int32Array {
  const out = new Int32Array(B * T);
  const pad = cfg.padTokenId;
  for (let b = 0; b < B; b++) {
    let count = 0;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (cfg.modelType === 'bert') out[i] = offset + t;
      else if (inputIds) {
        const keep = inputIds[i] !== pad ? 1 : 0;
        count += keep;
        out[i] = (count + offset) * keep + pad;
      } else out[i] = pad + 1 + offset + t;
    }
  }
  return out;
}

export const idsTensor = (ctx: { bk: Backend }, data: Int32Array, B: number, T: number): Tensor =>
  tensor(ctx.bk, data, { shape: [B, T], dtype: 'i32' });
