/**
 * Soft prompt tuning (Lester et al. 2021; PEFT PROMPT_TUNING): m trainable virtual-token embeddings
 * P [m, d] fed through `inputs_embeds`. PEFT places them before [CLS] (so the pooler reads the first
 * virtual token); `after-cls` keeps [CLS] first. The mask gets m ones, token types m zeros, and the
 * m+T tokens take positions 0..m+T-1 (BERT's default, as PEFT leaves position ids unset).
 */
import {
  broadcastTo,
  concat,
  expandDims,
  full,
  gather,
  keep,
  randIntArray,
  randomNormal,
  slice,
  tensor,
  type PRNGKey,
  type Tensor,
} from '../core/index.ts';
import type { EncoderInputs } from '../models/bert/model.ts';
import type { BertModel } from '../models/bert/model.ts';
import type { PromptInit, TokenBatch } from './common.ts';

export interface SoftPromptConfig {
  readonly numVirtualTokens: number;
  /** 'before-cls' is PEFT's placement (default); 'after-cls' inserts after the first token. */
  readonly placement?: 'before-cls' | 'after-cls';
  /** Default: sampled vocabulary rows (Lester et al. found vocabulary init beats random). */
  readonly init?: PromptInit;
}

/** PEFT's tensor name: `prompt_encoder.embedding.weight` in the model, `prompt_embeddings` in adapters. */
export interface SoftPromptParams {
  /** [m, d] */
  readonly promptEmbeddings: Tensor;
}

/** Rows copied (detached) from the frozen word embeddings, or N(0, std²) (PEFT's nn.Embedding: std 1). */
export function initPromptRows(model: BertModel, m: number, init: PromptInit, key: PRNGKey): Tensor {
  const E = model.wordEmbeddings;
  const V = E.shape[0]!,
    d = E.shape[1]!;
  switch (init.kind) {
    case 'random':
      return randomNormal(model.bk, key, [m, d], 0, init.std ?? 1, { dtype: model.dtype });
    case 'vocab':
      return gather(E, tensor(model.bk, randIntArray(key, m, V), { shape: [m], dtype: 'i32' }));
    case 'text': {
      if (init.ids.length === 0) throw new Error('soft prompt: init text tokenised to no ids');
      const ids = Int32Array.from({ length: m }, (_, i) => init.ids[i % init.ids.length]!); // repeat or cut to m
      return gather(E, tensor(model.bk, ids, { shape: [m], dtype: 'i32' }));
    }
  }
}

export function initSoftPrompt(model: BertModel, cfg: SoftPromptConfig, key: PRNGKey): SoftPromptParams {
  return { promptEmbeddings: keep(initPromptRows(model, cfg.numVirtualTokens, cfg.init ?? { kind: 'vocab' }, key)) };
}

/** Splices per-example prompt rows [B, m, d] into the batch's embeddings at the configured place. */
export function spliceSoftPrompt(
  model: BertModel,
  prompt: Tensor,
  batch: TokenBatch,
  placement: SoftPromptConfig['placement'] = 'before-cls',
): EncoderInputs {
  const { B, T } = batch;
  const m = prompt.shape[1]!;
  const emb = model.embed(batch.inputIds);
  const zeros = full(model.bk, [B, m], 0, 'i32');
  const at = (t: Tensor, p: Tensor): Tensor => {
    if (placement === 'before-cls') return concat([p, t], 1);
    const d = t.shape.slice(2);
    return concat([slice(t, [0, 0], [B, 1, ...d]), p, slice(t, [0, 1], [B, T - 1, ...d])], 1);
  };
  // the mask is spliced on the host (the encoder's skipPadding reads that copy) and uploaded from it
  const hostMask = new Int32Array(B * (T + m));
  for (let b = 0; b < B; b++) {
    const src = batch.host.attentionMask.subarray(b * T, (b + 1) * T),
      row = hostMask.subarray(b * (T + m), (b + 1) * (T + m));
    if (placement === 'before-cls') {
      row.fill(1, 0, m);
      row.set(src, m);
    } else {
      row[0] = src[0]!;
      row.fill(1, 1, 1 + m);
      row.set(src.subarray(1), 1 + m);
    }
  }
  return {
    inputsEmbeds: at(emb, prompt),
    attentionMask: tensor(model.bk, hostMask, { shape: [B, T + m], dtype: 'i32' }),
    hostAttentionMask: hostMask,
    ...(batch.tokenTypeIds ? { tokenTypeIds: at(batch.tokenTypeIds, zeros) } : {}),
  };
}

/** Encoder inputs with the shared prompt P [m, d] broadcast over the batch. */
export function applySoftPrompt(
  model: BertModel,
  params: SoftPromptParams,
  batch: TokenBatch,
  cfg: SoftPromptConfig,
): EncoderInputs {
  const [m, d] = params.promptEmbeddings.shape as [number, number];
  const prompt = broadcastTo(expandDims(params.promptEmbeddings, 0), [batch.B, m, d]);
  return spliceSoftPrompt(model, prompt, batch, cfg.placement);
}
