/**
 * Dynamic prompting (docs/methods.md §3; DPT): the prompt's position, length and representation chosen per
 * task or per instance, each choice a Gumbel-softmax sample (hard straight-through by default, as the
 * code), combinable freely via `{ position?, length?, pool? }`.
 *
 * Layout (BERT/RoBERTa): `[CLS] P[:j] x P[j:] [SEP] pad…` — [CLS] first, the row's last real token
 * ([SEP] / `</s>`) last, the m prompt tokens split around the text at j ∈ {0..m}: the first j before the
 * text, the other m − j after it. j = m puts the whole prompt before the text, the usual prefix soft
 * prompt, and is what runs without a learned position use (length-only and pool-only runs train a prefix
 * prompt); j = 0 puts it all after the text. Output length T + m, mask n_b + m ones.
 * Built with host-side index maps: candidate_j = gather([E(x); P], idx_j) [B, T+m, d] for each j, and
 * inputs_embeds = Σ_j w_bj · candidate_j. The encoder runs once; the extra cost is (m+1) gathers and
 * multiply-adds of [B, T+m, d] (negligible next to the encoder for m ≤ ~100). With the hard sample the
 * forward is exactly one candidate; the backward gives ∂L/∂w_j = ⟨∂L/∂x, candidate_j⟩.
 * Attention mask and token types are integers, so they follow the row's argmax split (host side).
 *
 * Length: w_len [B, m] over lengths 1..m; token i keeps weight g_i = Σ_{l ≥ i} w_len[l] (the
 * cumulative-sum form, a matmul with an upper-triangular ones matrix). g is the prompt tokens'
 * multiplicative attention key weight (`EncoderInputs.keyWeights`): g_i = 0 masks token i exactly
 * (the hard sample's forward), and the gradient reaches every length, longer ones included — an
 * additive mask (1 − g)·finfo.min would have a derivative of ~1e308 instead.
 *
 * Pool: k prompt sets P [k, m, d] mixed per instance by softmax(tanh(Linear(d, k)(x̄))).
 * Instance-level nets read x̄ [B, d]: the masked mean of the frozen encoder's output on the
 * *unprompted* input, stopGradient'ed (one extra encoder pass; pass it in via `pooled` to reuse it).
 */
import {
  add,
  broadcastTo,
  concat,
  expandDims,
  full,
  gather,
  keep,
  linear,
  matmul,
  mean,
  mul,
  oneHot,
  argmax,
  initLinear,
  relu,
  reshape,
  softmax,
  splitKey,
  stopGradient,
  sum,
  tanh,
  treeMap,
  type LinearParams,
  tensor,
  zeros,
  cast,
  type PRNGKey,
  type Tensor,
} from '../core/index.ts';
import type { BertModel, EncoderInputs } from '../models/bert/model.ts';
import type { PromptInit, TokenBatch } from './common.ts';
import { gumbelSoftmax } from './gumbel.ts';
import { initPromptRows } from './soft-prompt.ts';

export type ChoiceLevel = 'task' | 'instance';

export interface DynamicPromptConfig {
  readonly numVirtualTokens: number;
  readonly position?: ChoiceLevel;
  readonly length?: ChoiceLevel;
  /** Prompt pool with k sets (code: k = 4). */
  readonly pool?: { readonly k: number };
  /** Instance nets: Linear(d, C) → ReLU as DPT's code (default false: plain Linear, the paper). */
  readonly instanceRelu?: boolean;
  /** Default: sampled vocabulary rows (as soft-prompt.ts). */
  readonly init?: PromptInit;
}

/** Task level: logits [C]; instance level: Linear(d, C). */
export type ChoiceParams = { readonly logits: Tensor } | LinearParams;

export interface DynamicPromptParams {
  /** [m, d], or [k, m, d] with a pool. */
  readonly prompt: Tensor;
  /** Linear(d, k) of the pool's mixing net. */
  readonly pool?: LinearParams;
  /** Over the m+1 split points. */
  readonly position?: ChoiceParams;
  /** Over the lengths 1..m. */
  readonly length?: ChoiceParams;
}

export function validateDynamicConfig(cfg: DynamicPromptConfig): void {
  if (!Number.isSafeInteger(cfg.numVirtualTokens) || cfg.numVirtualTokens < 1)
    throw new RangeError(`dynamic prompt: numVirtualTokens must be ≥ 1, got ${cfg.numVirtualTokens}`);
  if (cfg.pool && (!Number.isSafeInteger(cfg.pool.k) || cfg.pool.k < 1))
    throw new RangeError(`dynamic prompt: pool.k must be ≥ 1, got ${cfg.pool.k}`);
  for (const k of ['position', 'length'] as const) {
    const v = cfg[k];
    if (v !== undefined && v !== 'task' && v !== 'instance')
      throw new RangeError(`dynamic prompt: ${k} must be 'task' or 'instance', got ${String(v)}`);
  }
}

/** Task-level logits start at zero (uniform choice); instance nets use torch's Linear init. */
export function initDynamicPrompt(model: BertModel, cfg: DynamicPromptConfig, key: PRNGKey): DynamicPromptParams {
  validateDynamicConfig(cfg);
  const m = cfg.numVirtualTokens,
    d = model.cfg.hiddenSize;
  const [kp, kpool, kpos, klen] = splitKey(key, 4) as [PRNGKey, PRNGKey, PRNGKey, PRNGKey];
  const init = cfg.init ?? { kind: 'vocab' };
  const prompt = cfg.pool
    ? keep(
        concat(
          splitKey(kp, cfg.pool.k).map((k) => expandDims(initPromptRows(model, m, init, k), 0)),
          0,
        ),
      )
    : keep(initPromptRows(model, m, init, kp));
  const choice = (level: ChoiceLevel, k: PRNGKey, C: number): ChoiceParams =>
    level === 'task' ? { logits: keep(zeros(model.bk, [C], model.dtype)) } : keptLinear(model, k, d, C);
  return {
    prompt,
    ...(cfg.pool ? { pool: keptLinear(model, kpool, d, cfg.pool.k) } : {}),
    ...(cfg.position ? { position: choice(cfg.position, kpos, m + 1) } : {}),
    ...(cfg.length ? { length: choice(cfg.length, klen, m) } : {}),
  };
}

/** x̄ [B, d]: masked mean of the frozen encoder's output on the unprompted batch, detached. */
export function unpromptedPooled(model: BertModel, batch: TokenBatch): Tensor {
  const h = model.encode({
    inputIds: batch.inputIds,
    attentionMask: batch.attentionMask,
    hostInputIds: batch.host.inputIds,
    ...(batch.tokenTypeIds ? { tokenTypeIds: batch.tokenTypeIds } : {}),
  }).lastHiddenState;
  const mask = expandDims(cast(batch.attentionMask, model.dtype), -1); // [B, T, 1]
  const inv = tensor(
    model.bk,
    rowCounts(batch).map((n) => 1 / n),
    { shape: [batch.B, 1], dtype: model.dtype },
  );
  return stopGradient(mul(sum(mul(h, mask), 1), inv));
}

function rowCounts(batch: TokenBatch): Float64Array {
  const { B, T } = batch;
  return Float64Array.from({ length: B }, (_, b) => {
    let n = 0;
    for (let t = 0; t < T; t++) n += batch.host.attentionMask[b * T + t] ? 1 : 0;
    if (n < 2) throw new Error(`dynamic prompt: row ${b} has ${n} real tokens; need at least [CLS] and [SEP]`);
    return n;
  });
}

/** How choices are drawn: a Gumbel-softmax sample (training) or, when absent, the argmax (evaluation). */
export interface DynamicSampling {
  readonly key: PRNGKey;
  /** Temperature τ (see gumbelTemperature). */
  readonly tau: number;
  /** Straight-through one-hot (default true, as DPT's code); false: the soft relaxation. */
  readonly hard?: boolean;
}

export interface DynamicApplyOptions {
  readonly sample?: DynamicSampling;
  /** x̄ [B, d] if already computed (see unpromptedPooled). */
  readonly pooled?: Tensor;
}

export interface DynamicPromptOutputs {
  readonly inputs: EncoderInputs;
  /** The selection weights: position [B, m+1], length [B, m], pool [B, k] (present when enabled). */
  readonly weights: { readonly position?: Tensor; readonly length?: Tensor; readonly pool?: Tensor };
}

/** Choice logits [B, C] from task logits [C] (broadcast) or an instance net on x̄ [B, d]. */
export function choiceLogits(p: ChoiceParams, B: number, pooled: () => Tensor, instanceRelu = false): Tensor {
  if ('logits' in p) return broadcastTo(expandDims(p.logits, 0), [B, p.logits.shape[0]!]);
  const z = linear(pooled(), p.weight, p.bias);
  return instanceRelu ? relu(z) : z;
}

function select(logits: Tensor, key: PRNGKey | undefined, sample: DynamicSampling | undefined): Tensor {
  if (!sample || !key) return oneHot(argmax(logits, -1), logits.shape.at(-1)!, logits.dtype);
  return gumbelSoftmax(logits, key, sample.tau, { hard: sample.hard ?? true });
}

/** Host index maps idx_j [B, T+m] into the flattened [E(x); P] rows, and the per-row real counts. */
function layoutIndex(B: number, T: number, m: number, n: Float64Array, j: number): Int32Array {
  const S = T + m;
  const out = new Int32Array(B * S);
  for (let b = 0; b < B; b++) {
    const nb = n[b]!,
      base = b * S,
      tok = (t: number) => base + t,
      pr = (i: number) => base + T + i;
    let o = b * S;
    out[o++] = tok(0);
    for (let i = 0; i < j; i++) out[o++] = pr(i); // P[:j] before the text
    for (let t = 1; t < nb - 1; t++) out[o++] = tok(t);
    for (let i = j; i < m; i++) out[o++] = pr(i); // P[j:] after it
    for (let t = nb - 1; t < T; t++) out[o++] = tok(t);
  }
  return out;
}

/** Builds the dynamic-prompted encoder inputs. Shapes: batch [B, T] → inputs_embeds [B, T+m, d]. */
export function applyDynamicPrompt(
  model: BertModel,
  params: DynamicPromptParams,
  batch: TokenBatch,
  cfg: DynamicPromptConfig,
  opts: DynamicApplyOptions = {},
): DynamicPromptOutputs {
  const { B, T } = batch;
  const m = cfg.numVirtualTokens,
    d = model.cfg.hiddenSize,
    S = T + m,
    bk = model.bk;
  const n = rowCounts(batch);
  let xbar: Tensor | undefined = opts.pooled;
  const pooled = () => (xbar ??= unpromptedPooled(model, batch));
  const [kPos, kLen] = opts.sample ? splitKey(opts.sample.key, 2) : [];
  const relu_ = cfg.instanceRelu ?? false;

  // Prompt rows [B, m, d]: a pool mixture or the shared prompt.
  let poolW: Tensor | undefined;
  let prompt: Tensor;
  if (params.pool) {
    const k = params.prompt.shape[0]!;
    poolW = softmax(tanh(linear(pooled(), params.pool.weight, params.pool.bias)), -1); // [B, k]
    prompt = reshape(matmul(poolW, reshape(params.prompt, [k, m * d])), [B, m, d]);
  } else prompt = broadcastTo(expandDims(params.prompt, 0), [B, m, d]);

  // Length gate g [B, m] = w_len · U, U[l, i] = 1 for l ≥ i: prompt token i's attention key weight.
  let lenW: Tensor | undefined;
  let gate: Tensor | undefined;
  if (params.length) {
    lenW = select(choiceLogits(params.length, B, pooled, relu_), kLen, opts.sample);
    const U = tensor(
      bk,
      Float64Array.from({ length: m * m }, (_, q) => (Math.floor(q / m) >= q % m ? 1 : 0)),
      { shape: [m, m], dtype: model.dtype },
    );
    gate = matmul(lenW, U);
  }

  const table = reshape(concat([model.embed(batch.inputIds), prompt], 1), [B * S, d]);
  const cand = (j: number) => gather(table, tensor(bk, layoutIndex(B, T, m, n, j), { shape: [B, S], dtype: 'i32' }));
  let posW: Tensor | undefined;
  let inputsEmbeds: Tensor;
  let split: Int32Array;
  if (params.position) {
    posW = select(choiceLogits(params.position, B, pooled, relu_), kPos, opts.sample); // [B, m+1]
    let acc: Tensor | undefined;
    for (let j = 0; j <= m; j++) {
      const wj = reshape(
        gather(
          reshape(posW, [B * (m + 1)]),
          tensor(
            bk,
            Int32Array.from({ length: B }, (_, b) => b * (m + 1) + j),
            { shape: [B], dtype: 'i32' },
          ),
        ),
        [B, 1, 1],
      );
      const term = mul(cand(j), wj);
      acc = acc ? add(acc, term) : term;
    }
    inputsEmbeds = acc!;
    const pw = posW.dataSync();
    split = Int32Array.from({ length: B }, (_, b) => {
      let best = 0;
      for (let j = 1; j <= m; j++) if (pw[b * (m + 1) + j]! > pw[b * (m + 1) + best]!) best = j;
      return best;
    });
  } else {
    inputsEmbeds = cand(m); // no learned position: the whole prompt before the text (see the header)
    split = new Int32Array(B).fill(m);
  }

  // Integer side (host): mask and token types per the row's split; prompt tokens are unmasked and
  // the length choice acts through multiplicative key weights (gate 0 = masked, differentiably).
  const mask = new Int32Array(B * S),
    types = new Int32Array(B * S),
    rows = new Int32Array(B * S);
  const hm = batch.host.attentionMask,
    ht = batch.host.tokenTypeIds;
  for (let b = 0; b < B; b++) {
    const idx = layoutIndex(1, T, m, n.subarray(b, b + 1), split[b]!);
    for (let s = 0; s < S; s++) {
      const src = idx[s]!;
      rows[b * S + s] = b * S + src;
      if (src >= T) {
        mask[b * S + s] = 1;
        types[b * S + s] = 0;
      } else {
        mask[b * S + s] = hm[b * T + src]!;
        types[b * S + s] = ht ? ht[b * T + src]! : 0;
      }
    }
  }
  const keyWeights = gate
    ? reshape(
        gather(
          reshape(concat([full(bk, [B, T], 1, model.dtype), gate], 1), [B * S, 1]),
          tensor(bk, rows, { shape: [B * S], dtype: 'i32' }),
        ),
        [B, S],
      )
    : undefined;
  return {
    inputs: {
      inputsEmbeds,
      ...(keyWeights ? { keyWeights } : {}),
      attentionMask: tensor(bk, mask, { shape: [B, S], dtype: 'i32' }),
      hostAttentionMask: mask,
      ...(batch.tokenTypeIds ? { tokenTypeIds: tensor(bk, types, { shape: [B, S], dtype: 'i32' }) } : {}),
    },
    weights: {
      ...(posW ? { position: posW } : {}),
      ...(lenW ? { length: lenW } : {}),
      ...(poolW ? { pool: poolW } : {}),
    },
  };
}

/** Mean of the selection probabilities (diagnostics): e.g. the expected prompt length Σ_l l·w_l. */
export const expectedLength = (lenW: Tensor): Tensor =>
  mean(
    sum(
      mul(
        lenW,
        tensor(
          lenW.backend,
          Float64Array.from({ length: lenW.shape[1]! }, (_, i) => i + 1),
          { shape: [lenW.shape[1]!], dtype: lenW.dtype },
        ),
      ),
      -1,
    ),
  );

/** A trainable Linear(in, out) with torch's default init (initLinear), kept past the scope. */
function keptLinear(model: BertModel, key: PRNGKey, inF: number, outF: number): LinearParams {
  return treeMap(initLinear(model.bk, key, inF, outF, model.dtype), keep);
}
