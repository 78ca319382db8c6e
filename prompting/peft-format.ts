/**
 * The on-disk format of a Hugging Face PEFT prompt-learning adapter, as PEFT 0.21 writes it with
 * `PeftModel.save_pretrained` (checked against the adapters PEFT itself wrote in
 * fixtures/hf-reference/peft-adapters/):
 *  - `adapter_config.json`: the config, keys sorted, indent 2, no final newline, `inference_mode: true`.
 *  - `adapter_model.safetensors` (or `adapter_model.bin` with `safe_serialization=False`):
 *    `prompt_embeddings` — the prompt encoder's output for tokens 0..m−1: [m, d] for PROMPT_TUNING,
 *    [m, 2·L·d] for PREFIX_TUNING (with `prefix_projection` the *projected* table: PEFT builds an
 *    unprojected encoder in inference mode and loads the table into it) — plus every module in
 *    `modules_to_save`, under its path in the PeftModel with the wrapper part (`modules_to_save.default`)
 *    removed. SEQ_CLS appends `classifier`, `score` to `modules_to_save`, twice.
 *  - `README.md`: the model card (see peft-model-card.ts).
 *
 * The sequence-classification head under transformers' names, per model type:
 *  - BERT (`BertForSequenceClassification`): pooler `bert.pooler.dense` (tanh) on the first token, then
 *    `classifier` Linear(d, C). The pooler belongs to the base model: an adapter carries it only when it is
 *    listed in `modules_to_save` (`"pooler"`), as `base_model.bert.pooler.dense.*`.
 *  - RoBERTa (`RobertaForSequenceClassification`): no pooler; the head module `classifier` is
 *    `dense` (tanh) on the first token, then `out_proj`. PromptGrad's pooler + classifier are exactly these
 *    two layers, saved as `base_model.classifier.dense.*` and `base_model.classifier.out_proj.*`.
 */
import type { ModelType } from '../models/bert/config.ts';
import type { PrefixParams } from './prefix.ts';
import type { SoftPromptParams } from './soft-prompt.ts';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
/** What `save_pretrained(..., safe_serialization=False)` writes instead (torch.save zip). */
export const ADAPTER_WEIGHTS_BIN = 'adapter_model.bin';
export const MODEL_CARD = 'README.md';
/** PEFT version whose format this mirrors (the fixtures' `peft_version`). */
export const PEFT_VERSION = '0.21.0';

export const PEFT_TASK_TYPES = [
  'SEQ_CLS',
  'TOKEN_CLS',
  'FEATURE_EXTRACTION',
  'CAUSAL_LM',
  'SEQ_2_SEQ_LM',
  'QUESTION_ANS',
] as const;
export type PeftTaskType = (typeof PEFT_TASK_TYPES)[number];

/** Fields both prompt-learning configs have. */
interface CommonConfig {
  task_type: PeftTaskType | null;
  peft_type: 'PROMPT_TUNING' | 'PREFIX_TUNING';
  auto_mapping: null;
  peft_version: string;
  base_model_name_or_path: string | null;
  revision: string | null;
  inference_mode: boolean;
  num_virtual_tokens: number;
  token_dim: number;
  num_transformer_submodules: number;
  num_attention_heads: number;
  num_layers: number;
  modules_to_save: string[] | null;
}
export interface PromptTuningAdapterConfig extends CommonConfig {
  peft_type: 'PROMPT_TUNING';
  prompt_tuning_init: 'RANDOM' | 'SAMPLE_VOCAB' | 'TEXT';
  prompt_tuning_init_text: string | null;
  tokenizer_name_or_path: string | null;
  tokenizer_kwargs: Record<string, unknown> | null;
}
export interface PrefixTuningAdapterConfig extends CommonConfig {
  peft_type: 'PREFIX_TUNING';
  init_weights: string | null;
  encoder_hidden_size: number;
  prefix_projection: boolean;
}
export type PeftAdapterConfig = PromptTuningAdapterConfig | PrefixTuningAdapterConfig;

/** The trained prompt of either method. */
export type AdapterMethod =
  | { readonly kind: 'prompt'; readonly params: SoftPromptParams }
  | { readonly kind: 'prefix'; readonly params: PrefixParams };

export const PROMPT_KEY = 'prompt_embeddings';

/** A projected prefix's MLP under PEFT's module names (a PromptGrad extension; PEFT ignores these keys). */
export const MLP_KEYS = {
  embedding: 'prompt_encoder.embedding.weight',
  w0: 'prompt_encoder.transform.0.weight',
  b0: 'prompt_encoder.transform.0.bias',
  w2: 'prompt_encoder.transform.2.weight',
  b2: 'prompt_encoder.transform.2.bias',
} as const;

export interface LinearKeys {
  readonly weight: string;
  readonly bias: string;
}

export interface HeadLayout {
  /** The final Linear(d, C). */
  readonly classifier: LinearKeys;
  /** The dense + tanh layer on the first token: BERT's pooler, RoBERTa's `classifier.dense`. */
  readonly pooler: LinearKeys;
  /** Whether the pooler is part of the head (RoBERTa) or of the base model (BERT: carried only when listed). */
  readonly poolerInHead: boolean;
  /** What PEFT users see as the head, for messages. */
  readonly description: string;
}

const linearKeys = (prefix: string): LinearKeys => ({ weight: `${prefix}.weight`, bias: `${prefix}.bias` });

export const HEAD_LAYOUT: Readonly<Record<ModelType, HeadLayout>> = {
  bert: {
    classifier: linearKeys('base_model.classifier'),
    pooler: linearKeys('base_model.bert.pooler.dense'),
    poolerInHead: false,
    description: 'BertForSequenceClassification: bert.pooler.dense + classifier',
  },
  roberta: {
    classifier: linearKeys('base_model.classifier.out_proj'),
    pooler: linearKeys('base_model.classifier.dense'),
    poolerInHead: true,
    description: 'RobertaForSequenceClassification: classifier.dense + classifier.out_proj',
  },
};

/** modules_to_save as PEFT writes it for SEQ_CLS: the user's modules, then `classifier`, `score` twice. */
export function seqClsModulesToSave(carryPooler: boolean): string[] {
  return [...(carryPooler ? ['pooler'] : []), 'classifier', 'score', 'classifier', 'score'];
}

/** adapter_config.json text as PEFT writes it (json.dumps(sort_keys=True, indent=2), no final newline). */
export function configJson(config: PeftAdapterConfig): string {
  const sorted = Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify(sorted, null, 2);
}
