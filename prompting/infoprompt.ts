/**
 * InfoPrompt (docs/methods.md §4; Wu et al.; code JoshuaWu1997/infoprompt) over the frozen encoder: a soft
 * prompt (plain learned [m, d], or the code's generator MLP d → h → m·d on the unprompted [CLS]/<s>
 * representation), a classification head, and the loss
 *   task + γ·L_head + β·L_rep + klWeight·KL      (γ 0.1, β 0.2, klWeight 0.1 as the code)
 * with L_head / L_rep / the Gaussian bottleneck from losses/infoprompt.ts.
 *  - The task loss is plain cross-entropy by default (the paper); `lossCap: 2` caps each example's
 *    loss as the code does (cappedCrossEntropy).
 *  - L_rep's positives are the prompted [CLS] outputs [B, d]; its negatives are the unprompted [CLS]
 *    outputs (detached), each passed `negativesPerExample` times (code: 4, so K = 4·B) through the
 *    bottleneck with independent reparameterisation noise.
 *  - Placement defaults to 'after-cls' so the pooler/classifier reads [CLS] (position 0).
 * Costs one extra (unprompted, no-grad) encoder pass per step, shared by the generator and L_rep.
 *
 * One implementation for both users: the method registry (prompting/methods.ts, the CLI's path) drives
 * `initInfoPromptMethodParams` → `infoPromptInputs` → its own encoder pass and head → `infoPromptObjective`;
 * `initInfoPrompt` / `infoPromptForward` are the same steps with the classifier head and the encoder pass
 * included, for API users who train InfoPrompt without a task model.
 */
import {
  broadcastTo,
  crossEntropy,
  expandDims,
  keep,
  linear,
  relu,
  reshape,
  splitKey,
  stopGradient,
  tanh,
  type PRNGKey,
  type Tensor,
} from '../core/index.ts';
import {
  cappedCrossEntropy,
  infoPromptHeadLoss,
  infoPromptLoss,
  infoPromptRepLoss,
  initInfoPromptParams,
  initLinear,
  type InfoPromptParams as RepLossParams,
  type InfoPromptWeights,
  type LinearParams,
} from '../losses/index.ts';
import type { BertModel, EncoderInputs } from '../models/bert/model.ts';
import type { PromptInit, TokenBatch } from './common.ts';
import { initPromptRows, spliceSoftPrompt } from './soft-prompt.ts';

/** What the InfoPrompt method needs to know: the prompt, its placement, L_rep's sizes, the loss weights. */
export interface InfoPromptMethodConfig {
  readonly numVirtualTokens: number;
  /** Generator MLP d → hidden → m·d (code: hidden 32); absent = a plain learned prompt. */
  readonly generator?: { readonly hidden?: number; readonly activation?: 'tanh' | 'relu' };
  /** Default 'after-cls' (the code inserts its prompt tokens after <s>), so the pooler/classifier reads [CLS]. */
  readonly placement?: 'before-cls' | 'after-cls';
  /** Bottleneck size k (code: 32). */
  readonly bottleneckDim?: number;
  /** Unprompted negatives per example for L_rep (code: 4). */
  readonly negativesPerExample?: number;
  readonly weights?: Partial<InfoPromptWeights>;
  /** Per-example task-loss cap (code: 2); absent = no cap. */
  readonly lossCap?: number;
  /** Prompt init for the plain prompt (default sampled vocabulary rows). */
  readonly init?: PromptInit;
}

export type InfoPromptPromptParams =
  | { readonly promptEmbeddings: Tensor /* [m, d] */ }
  | { readonly generator: { readonly fc1: LinearParams /* [h, d] */; readonly fc2: LinearParams /* [m·d, h] */ } };

/** What the method trains: the prompt (plain or generator) and L_rep's bottleneck + projection. */
export interface InfoPromptMethodParams {
  readonly prompt: InfoPromptPromptParams;
  /** Bottleneck and prompt projection of L_rep. */
  readonly rep: RepLossParams;
}

export function validateInfoPromptConfig(cfg: InfoPromptMethodConfig & { readonly numLabels?: number }): void {
  if (!Number.isSafeInteger(cfg.numVirtualTokens) || cfg.numVirtualTokens < 1)
    throw new RangeError(`InfoPrompt: numVirtualTokens must be ≥ 1, got ${cfg.numVirtualTokens}`);
  if (cfg.numLabels !== undefined && (!Number.isSafeInteger(cfg.numLabels) || cfg.numLabels < 2))
    throw new RangeError(`InfoPrompt: numLabels must be ≥ 2, got ${cfg.numLabels}`);
  if (
    cfg.negativesPerExample !== undefined &&
    !(Number.isSafeInteger(cfg.negativesPerExample) && cfg.negativesPerExample >= 1)
  )
    throw new RangeError('InfoPrompt: negativesPerExample must be a positive integer');
  if (cfg.lossCap !== undefined && !(cfg.lossCap > 0))
    throw new RangeError(`InfoPrompt: lossCap must be > 0, got ${cfg.lossCap}`);
}

/** The method's initial tree: the prompt from one key, L_rep's bottleneck and projection from another. */
export function initInfoPromptMethodParams(
  model: BertModel,
  cfg: InfoPromptMethodConfig,
  key: PRNGKey,
): InfoPromptMethodParams {
  validateInfoPromptConfig(cfg);
  const d = model.cfg.hiddenSize,
    m = cfg.numVirtualTokens;
  const [kp, k1, k2, kr] = splitKey(key, 4) as [PRNGKey, PRNGKey, PRNGKey, PRNGKey];
  const keepLin = (p: LinearParams): LinearParams => ({ weight: keep(p.weight), bias: keep(p.bias) });
  const hidden = cfg.generator?.hidden ?? 32;
  const prompt: InfoPromptPromptParams = cfg.generator
    ? {
        generator: {
          fc1: keepLin(initLinear(model.bk, k1, d, hidden, model.dtype)),
          fc2: keepLin(initLinear(model.bk, k2, hidden, m * d, model.dtype)),
        },
      }
    : { promptEmbeddings: keep(initPromptRows(model, m, cfg.init ?? { kind: 'vocab' }, kp)) };
  const rep = initInfoPromptParams(model.bk, kr, { d, k: cfg.bottleneckDim ?? 32 }, model.dtype);
  return {
    prompt,
    rep: {
      bottleneck: { mu: keepLin(rep.bottleneck.mu), logVar: keepLin(rep.bottleneck.logVar) },
      projection: keepLin(rep.projection),
    },
  };
}

/** The unprompted [CLS]/<s> output [B, d], detached. */
export function unpromptedCls(model: BertModel, batch: TokenBatch): Tensor {
  const h = model.encode({
    inputIds: batch.inputIds,
    attentionMask: batch.attentionMask,
    hostInputIds: batch.host.inputIds,
    ...(batch.tokenTypeIds ? { tokenTypeIds: batch.tokenTypeIds } : {}),
    outputPositions: Array.from({ length: batch.B }, () => [0]),
    hostAttentionMask: batch.host.attentionMask,
    skipPadding: true,
  }).lastHiddenState;
  return stopGradient(reshape(h, [batch.B, model.cfg.hiddenSize]));
}

/** Prompt rows: P [m, d] (plain) or P_b [B, m, d] = reshape(fc2(act(fc1(cls_b)))) (generator). */
export function infoPromptRows(
  p: InfoPromptPromptParams,
  cfg: Pick<InfoPromptMethodConfig, 'numVirtualTokens' | 'generator'>,
  cls: () => Tensor,
): Tensor {
  if ('promptEmbeddings' in p) return p.promptEmbeddings;
  const x = cls();
  const z = linear(x, p.generator.fc1.weight, p.generator.fc1.bias);
  const a = (cfg.generator?.activation ?? 'tanh') === 'relu' ? relu(z) : tanh(z);
  const out = linear(a, p.generator.fc2.weight, p.generator.fc2.bias); // [B, m·d]
  return reshape(out, [x.shape[0]!, cfg.numVirtualTokens, x.shape[1]!]);
}

/** A batch's prompted encoder inputs and what the objective reuses from building them. */
export interface InfoPromptBatchInputs {
  readonly batch: TokenBatch;
  readonly inputs: EncoderInputs;
  /** The prompt rows: [m, d] (plain) or [B, m, d] (generator). */
  readonly prompt: Tensor;
  /** The unprompted [CLS] outputs [B, d], detached: computed once, on first use (generator or L_rep). */
  readonly unprompted: () => Tensor;
}

export function infoPromptInputs(
  model: BertModel,
  params: InfoPromptMethodParams,
  batch: TokenBatch,
  cfg: InfoPromptMethodConfig,
): InfoPromptBatchInputs {
  const m = cfg.numVirtualTokens,
    d = model.cfg.hiddenSize;
  let clsU: Tensor | undefined;
  const unprompted = () => (clsU ??= unpromptedCls(model, batch)); // one extra unprompted pass, shared
  const prompt = infoPromptRows(params.prompt, cfg, unprompted); // [m, d] or [B, m, d]
  const Pb = prompt.rank === 2 ? broadcastTo(expandDims(prompt, 0), [batch.B, m, d]) : prompt;
  return { batch, inputs: spliceSoftPrompt(model, Pb, batch, cfg.placement ?? 'after-cls'), prompt, unprompted };
}

export interface InfoPromptObjectiveInputs {
  /** [B, C] */
  readonly logits: Tensor;
  /** i32 [B] */
  readonly labels: Tensor;
  /** The classifier's weight [C, d] (L_head's head representation). */
  readonly headWeight: Tensor;
  /** The prompted [CLS]/position-0 outputs [B, d] (L_rep's positives). */
  readonly prompted: Tensor;
  /** Key for the bottleneck's reparameterisation noise. */
  readonly key: PRNGKey;
  /** false: bottleneck means instead of samples (evaluation). */
  readonly sample: boolean;
  /** The prompt L_rep's critic anchors on; default the batch's prompt rows (see InfoPromptStepInputs). */
  readonly repAnchor?: Tensor;
}

export interface InfoPromptLoss {
  readonly loss: Tensor;
  readonly parts: { readonly task: Tensor; readonly head: Tensor; readonly rep: Tensor; readonly kl: Tensor };
}

/** task + γ·L_head + β·L_rep + klWeight·KL on one batch, from its prompted inputs and the classifier's output. */
export function infoPromptObjective(
  model: BertModel,
  params: InfoPromptMethodParams,
  cfg: InfoPromptMethodConfig,
  fwd: InfoPromptBatchInputs,
  x: InfoPromptObjectiveInputs,
): InfoPromptLoss {
  const { batch } = fwd;
  const task =
    cfg.lossCap === undefined ? crossEntropy(x.logits, x.labels) : cappedCrossEntropy(x.logits, x.labels, cfg.lossCap);
  const head = infoPromptHeadLoss({
    prompt: fwd.prompt,
    headRep: x.headWeight,
    tokenEmbeds: model.embed(batch.inputIds),
    attentionMask: batch.attentionMask,
  }).loss;
  const r = cfg.negativesPerExample ?? 4,
    d = model.cfg.hiddenSize;
  // each unprompted output r times, [r·B, d]: independent bottleneck noise per copy
  const unprompted = reshape(broadcastTo(expandDims(fwd.unprompted(), 0), [r, batch.B, d]), [r * batch.B, d]);
  const rep = infoPromptRepLoss({
    prompt: x.repAnchor ?? fwd.prompt,
    prompted: x.prompted,
    unprompted,
    params: params.rep,
    key: x.key,
    sample: x.sample,
  });
  const parts = { task, head, rep: rep.loss, kl: rep.kl };
  return { loss: infoPromptLoss(parts, cfg.weights ?? {}), parts };
}
