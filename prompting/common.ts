/** What every prompt method consumes: a tokenised, padded batch living on the model's backend. */
import { tensor, type Backend, type Tensor } from '../core/index.ts';

export interface TokenBatch {
  /** i32 [B, T] */
  readonly inputIds: Tensor;
  /** i32 [B, T], 1 = token, 0 = padding */
  readonly attentionMask: Tensor;
  /** i32 [B, T] (BERT); absent for RoBERTa */
  readonly tokenTypeIds?: Tensor;
  /** Host copies (position ids, mask positions and the like are computed on the host). */
  readonly host: {
    readonly inputIds: Int32Array;
    readonly attentionMask: Int32Array;
    readonly tokenTypeIds?: Int32Array;
  };
  readonly B: number;
  readonly T: number;
}

/** Builds a TokenBatch from padded host rows. */
export function tokenBatch(
  bk: Backend,
  B: number,
  T: number,
  inputIds: Int32Array,
  attentionMask: Int32Array,
  tokenTypeIds?: Int32Array,
): TokenBatch {
  const t = (a: Int32Array) => tensor(bk, a, { shape: [B, T], dtype: 'i32' });
  return {
    inputIds: t(inputIds),
    attentionMask: t(attentionMask),
    ...(tokenTypeIds ? { tokenTypeIds: t(tokenTypeIds) } : {}),
    host: { inputIds, attentionMask, ...(tokenTypeIds ? { tokenTypeIds } : {}) },
    B,
    T,
  };
}

/** Prompt initialisation (PEFT's PromptTuningInit): random normal, sampled vocabulary rows, or a text. */
export type PromptInit =
  | { readonly kind: 'random'; readonly std?: number }
  | { readonly kind: 'vocab' }
  | { readonly kind: 'text'; readonly ids: readonly number[] };
