/**
 * Task heads on the frozen encoder. Classification (PEFT SEQ_CLS / BertForSequenceClassification):
 * pooled output (frozen pooler: tanh(dense(h[:, position]))) → dropout → trainable Linear(d, C).
 * MLM verbalizer (PET / OpenPrompt): the MLM head's scores of each class's label word at the [MASK]
 * position, computed only for the label-word rows of the tied decoder.
 */
import {
  add,
  dropout,
  gather,
  keep,
  linear,
  randomNormal,
  reshape,
  tensor,
  zeros,
  type LinearParams,
  type PRNGKey,
  type Tensor,
} from '../core/index.ts';
import type { BertModel } from '../models/bert/model.ts';
import type { Linear } from '../models/bert/modules.ts';
import { gelu } from '../core/index.ts';

/** The classifier Linear(d, C): weight [C, d], bias [C]. */
export type ClassifierParams = LinearParams;

/** HF's _init_weights for Linear (not torch's default, initLinear): N(0, initializer_range²) weight, zero bias. */
export function initClassifier(model: BertModel, numLabels: number, key: PRNGKey): ClassifierParams {
  const d = model.cfg.hiddenSize;
  return {
    weight: keep(randomNormal(model.bk, key, [numLabels, d], 0, model.cfg.initializerRange, { dtype: model.dtype })),
    bias: keep(zeros(model.bk, [numLabels], model.dtype)),
  };
}

export interface ClassifyOptions {
  /** Which token the pooler reads (0: the first token, PEFT's behaviour with a prefix-placed prompt). */
  readonly position?: number;
  /** Pooler to use when the checkpoint has none (e.g. an MLM checkpoint). */
  readonly pooler?: Linear;
  /** Classifier dropout in train mode. */
  readonly dropout?: { readonly key: PRNGKey; readonly p: number };
}

/** Each example's row at position `pos` of h [B, T, d] → [B, d]. */
export function rowsAtPosition(model: BertModel, h: Tensor, pos: number): Tensor {
  const [B, T, d] = h.shape as [number, number, number];
  return gather(
    reshape(h, [B * T, d]),
    tensor(
      model.bk,
      Int32Array.from({ length: B }, (_, b) => b * T + pos),
      { shape: [B], dtype: 'i32' },
    ),
  );
}

/** lastHiddenState [B, T, d] → logits [B, C]. */
export function classifierLogits(
  model: BertModel,
  lastHiddenState: Tensor,
  head: ClassifierParams,
  opts: ClassifyOptions = {},
): Tensor {
  const [B, , d] = lastHiddenState.shape as [number, number, number];
  const rows = rowsAtPosition(model, lastHiddenState, opts.position ?? 0);
  const pooled = model.pool(reshape(rows, [B, 1, d]), opts.pooler ?? model.pooler);
  const x = opts.dropout ? dropout(pooled, opts.dropout.key, opts.dropout.p) : pooled;
  return linear(x, head.weight, head.bias);
}

/**
 * Verbalizer logits [B, C]: hidden states at each example's mask position (`maskPositions[b]`, host
 * ints) through the MLM transform, scored against the decoder rows of the label words.
 */
export function verbalizerLogits(
  model: BertModel,
  lastHiddenState: Tensor,
  maskPositions: readonly number[],
  labelWordIds: readonly number[],
): Tensor {
  const head = model.mlmHead;
  if (!head) throw new Error('verbalizerLogits: the checkpoint has no MLM head');
  const [B, T, d] = lastHiddenState.shape as [number, number, number];
  if (maskPositions.length !== B)
    throw new Error(`verbalizerLogits: ${maskPositions.length} mask positions for a batch of ${B}`);
  const idx = tensor(
    model.bk,
    Int32Array.from(maskPositions, (p, b) => b * T + p),
    { shape: [B], dtype: 'i32' },
  );
  const h = gather(reshape(lastHiddenState, [B * T, d]), idx);
  const t = head.layerNorm.forward(gelu(head.dense.forward(h)));
  const words = tensor(model.bk, Int32Array.from(labelWordIds), { shape: [labelWordIds.length], dtype: 'i32' });
  return add(linear(t, gather(head.decoder, words)), gather(head.bias, words));
}
