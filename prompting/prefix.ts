/**
 * Deep prompt / prefix tuning (P-tuning v2, Li & Liang; PEFT PREFIX_TUNING): a table [m, 2·L·d]
 * reshaped to per-layer key and value prefixes [B, H, m, Dh], placed in front of each layer's keys and
 * values. Optional reparameterisation (`projection`): Embedding(m, d) → Linear(d, h) → tanh →
 * Linear(h, 2·L·d) (h = 512 in P-tuning v2's code). Queries and outputs keep length T; the mask gets m
 * ones in front of the keys only.
 */
import {
  broadcastTo,
  expandDims,
  keep,
  linear,
  permute,
  randomNormal,
  initLinear,
  reshape,
  slice,
  splitKey,
  tanh,
  treeMap,
  type LinearParams,
  type PRNGKey,
  type Tensor,
} from '../core/index.ts';
import type { PrefixKV } from '../models/bert/layer.ts';
import type { BertModel, EncoderInputs } from '../models/bert/model.ts';
import type { TokenBatch } from './common.ts';

export interface PrefixConfig {
  readonly numVirtualTokens: number;
  /** Hidden size h of the reparameterisation MLP; absent = no projection (PEFT's default). */
  readonly projectionHiddenSize?: number;
}

/** Names follow PEFT's PrefixEncoder: `embedding`, and with projection `transform.0` / `transform.2`. */
export type PrefixParams =
  | { readonly embedding: Tensor /* [m, 2·L·d] */ }
  | { readonly embedding: Tensor /* [m, d] */; readonly transform0: LinearParams; readonly transform2: LinearParams };

export function initPrefix(model: BertModel, cfg: PrefixConfig, key: PRNGKey): PrefixParams {
  const { hiddenSize: d, numHiddenLayers: L } = model.cfg;
  const m = cfg.numVirtualTokens;
  const [ke, k0, k2] = splitKey(key, 3);
  // nn.Embedding's default init is N(0, 1), as PEFT leaves it.
  if (cfg.projectionHiddenSize === undefined)
    return { embedding: keep(randomNormal(model.bk, ke!, [m, 2 * L * d], 0, 1, { dtype: model.dtype })) };
  const h = cfg.projectionHiddenSize;
  return {
    embedding: keep(randomNormal(model.bk, ke!, [m, d], 0, 1, { dtype: model.dtype })),
    transform0: keptLinear(model, k0!, d, h),
    transform2: keptLinear(model, k2!, h, 2 * L * d),
  };
}

/** The prefix table [m, 2·L·d] (through the MLP when reparameterised). */
export function prefixTable(params: PrefixParams): Tensor {
  if (!('transform0' in params)) return params.embedding;
  return linear(
    tanh(linear(params.embedding, params.transform0.weight, params.transform0.bias)),
    params.transform2.weight,
    params.transform2.bias,
  );
}

/**
 * [m, 2·L·d] → L × { key, value } of [B, H, m, Dh]: view [B, m, 2L, H, Dh], permute to
 * [2L, B, H, m, Dh] and take rows 2i (key) and 2i+1 (value), as PEFT's get_prompt does.
 */
export function prefixKeyValues(model: BertModel, table: Tensor, B: number): PrefixKV[] {
  const { hiddenSize: d, numHiddenLayers: L, numAttentionHeads: H } = model.cfg;
  const m = table.shape[0]!;
  const kv = permute(
    reshape(broadcastTo(expandDims(table, 0), [B, m, 2 * L * d]), [B, m, 2 * L, H, d / H]),
    [2, 0, 3, 1, 4],
  );
  const row = (i: number) => reshape(slice(kv, [i, 0, 0, 0, 0], [1, B, H, m, d / H]), [B, H, m, d / H]);
  return Array.from({ length: L }, (_, i) => ({ key: row(2 * i), value: row(2 * i + 1) }));
}

export function applyPrefix(model: BertModel, params: PrefixParams, batch: TokenBatch): EncoderInputs {
  return {
    inputIds: batch.inputIds,
    attentionMask: batch.attentionMask,
    hostInputIds: batch.host.inputIds,
    hostAttentionMask: batch.host.attentionMask,
    ...(batch.tokenTypeIds ? { tokenTypeIds: batch.tokenTypeIds } : {}),
    prefix: prefixKeyValues(model, prefixTable(params), batch.B),
  };
}

/** A trainable Linear(in, out) with torch's default init (initLinear), kept past the scope. */
function keptLinear(model: BertModel, key: PRNGKey, inF: number, outF: number): LinearParams {
  return treeMap(initLinear(model.bk, key, inF, outF, model.dtype), keep);
}
