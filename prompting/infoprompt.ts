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
 */
import {
  broadcastTo,
  cast,
  concat,
  crossEntropy,
  div,
  expandDims,
  mul,
  sum,
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
import type { BertModel } from '../models/bert/model.ts';
import type { Linear } from '../models/bert/modules.ts';
import type { PromptInit, TokenBatch } from './common.ts';
import { classifierLogits, initClassifier, rowsAtPosition, type ClassifierParams } from './heads.ts';
import { initPromptRows, spliceSoftPrompt } from './soft-prompt.ts';

export interface InfoPromptConfig {
  readonly numVirtualTokens: number;
  readonly numLabels: number;
  /** Generator MLP d → hidden → m·d (code: hidden 32); absent = a plain learned prompt. */
  readonly generator?: { readonly hidden?: number; readonly activation?: 'tanh' | 'relu' };
  readonly placement?: 'before-cls' | 'after-cls';
  /**
   * What the classifier reads: 'cls' (default; the pooler on position 0, as BertForSequenceClassification)
   * or 'mean' (the pooler on the masked mean of the prompted sequence — useful on encoders whose [CLS]
   * output barely depends on the input, such as randomly initialised test models).
   */
  readonly readout?: 'cls' | 'mean';
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

export interface InfoPromptModelParams {
  readonly prompt: InfoPromptPromptParams;
  readonly head: ClassifierParams;
  /** Bottleneck and prompt projection of L_rep. */
  readonly rep: RepLossParams;
}

export function validateInfoPromptConfig(cfg: InfoPromptConfig): void {
  if (!Number.isSafeInteger(cfg.numVirtualTokens) || cfg.numVirtualTokens < 1)
    throw new RangeError(`InfoPrompt: numVirtualTokens must be ≥ 1, got ${cfg.numVirtualTokens}`);
  if (!Number.isSafeInteger(cfg.numLabels) || cfg.numLabels < 2)
    throw new RangeError(`InfoPrompt: numLabels must be ≥ 2, got ${cfg.numLabels}`);
  if (
    cfg.negativesPerExample !== undefined &&
    !(Number.isSafeInteger(cfg.negativesPerExample) && cfg.negativesPerExample >= 1)
  )
    throw new RangeError('InfoPrompt: negativesPerExample must be a positive integer');
  if (cfg.lossCap !== undefined && !(cfg.lossCap > 0))
    throw new RangeError(`InfoPrompt: lossCap must be > 0, got ${cfg.lossCap}`);
}

export function initInfoPrompt(model: BertModel, cfg: InfoPromptConfig, key: PRNGKey): InfoPromptModelParams {
  validateInfoPromptConfig(cfg);
  const d = model.cfg.hiddenSize,
    m = cfg.numVirtualTokens;
  const [kp, k1, k2, kh, kr] = splitKey(key, 5) as [PRNGKey, PRNGKey, PRNGKey, PRNGKey, PRNGKey];
  const keepLin = (p: LinearParams): LinearParams => ({ weight: keep(p.weight), bias: keep(p.bias) });
  const prompt: InfoPromptPromptParams = cfg.generator
    ? {
        generator: {
          fc1: keepLin(initLinear(model.bk, k1, d, cfg.generator.hidden ?? 32, model.dtype)),
          fc2: keepLin(initLinear(model.bk, k2, cfg.generator.hidden ?? 32, m * d, model.dtype)),
        },
      }
    : { promptEmbeddings: keep(initPromptRows(model, m, cfg.init ?? { kind: 'vocab' }, kp)) };
  const rep = initInfoPromptParams(model.bk, kr, { d, k: cfg.bottleneckDim ?? 32 }, model.dtype);
  return {
    prompt,
    head: initClassifier(model, cfg.numLabels, kh),
    rep: {
      bottleneck: { mu: keepLin(rep.bottleneck.mu), logVar: keepLin(rep.bottleneck.logVar) },
      projection: keepLin(rep.projection),
    },
  };
}

/** Classifier on the pooler applied to the masked mean of h [B, S, d] (mask [B, S]) → logits [B, C]. */
export function meanReadoutLogits(
  model: BertModel,
  h: Tensor,
  mask: Tensor,
  head: ClassifierParams,
  pooler?: Linear,
): Tensor {
  const [B, , d] = h.shape as [number, number, number];
  const w = cast(mask, h.dtype);
  const pooled = div(sum(mul(h, expandDims(w, -1)), 1), expandDims(sum(w, 1), -1)); // [B, d]
  return classifierLogits(model, reshape(pooled, [B, 1, d]), head, pooler ? { pooler } : {});
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
export function infoPromptRows(p: InfoPromptPromptParams, cfg: InfoPromptConfig, cls: () => Tensor): Tensor {
  if ('promptEmbeddings' in p) return p.promptEmbeddings;
  const x = cls();
  const z = linear(x, p.generator.fc1.weight, p.generator.fc1.bias);
  const a = (cfg.generator?.activation ?? 'tanh') === 'relu' ? relu(z) : tanh(z);
  const out = linear(a, p.generator.fc2.weight, p.generator.fc2.bias); // [B, m·d]
  return reshape(out, [x.shape[0]!, cfg.numVirtualTokens, x.shape[1]!]);
}

export interface InfoPromptStepInputs {
  readonly batch: TokenBatch;
  /** i32 [B] */
  readonly labels: Tensor;
  /** Key for the bottleneck's reparameterisation noise. */
  readonly key: PRNGKey;
  /** Pooler when the checkpoint has none. */
  readonly pooler?: Linear;
  /** false: bottleneck means instead of samples (evaluation). */
  readonly sample?: boolean;
  /**
   * The prompt L_rep's critic anchors on ([m, d] or [B, m, d]); default the current prompt. L_rep
   * detaches it anyway, so passing a constant copy changes no value or gradient — it only makes the
   * objective a smooth function of the prompt for finite-difference checks.
   */
  readonly repAnchor?: Tensor;
}

export interface InfoPromptOutputs {
  readonly loss: Tensor;
  /** [B, C] */
  readonly logits: Tensor;
  readonly parts: { readonly task: Tensor; readonly head: Tensor; readonly rep: Tensor; readonly kl: Tensor };
}

/** Full InfoPrompt objective on one batch (differentiate `loss` w.r.t. the params tree). */
export function infoPromptForward(
  model: BertModel,
  params: InfoPromptModelParams,
  cfg: InfoPromptConfig,
  x: InfoPromptStepInputs,
): InfoPromptOutputs {
  const { batch } = x;
  const B = batch.B,
    m = cfg.numVirtualTokens,
    d = model.cfg.hiddenSize;
  let clsU: Tensor | undefined;
  const cls = () => (clsU ??= unpromptedCls(model, batch));
  const P = infoPromptRows(params.prompt, cfg, cls); // [m, d] or [B, m, d]
  const Pb = P.rank === 2 ? broadcastTo(expandDims(P, 0), [B, m, d]) : P;
  const placement = cfg.placement ?? 'after-cls';
  const inputs = spliceSoftPrompt(model, Pb, batch, placement);
  const clsReadout = (cfg.readout ?? 'cls') === 'cls';
  // the [CLS] readout and L_rep read only position 0: the last layer computes that row alone
  const h = model.encode({
    ...inputs,
    skipPadding: true,
    ...(clsReadout ? { outputPositions: Array.from({ length: B }, () => [0]) } : {}),
  }).lastHiddenState;
  const logits = clsReadout
    ? classifierLogits(model, h, params.head, x.pooler ? { pooler: x.pooler } : {})
    : meanReadoutLogits(model, h, inputs.attentionMask!, params.head, x.pooler);
  const task =
    cfg.lossCap === undefined ? crossEntropy(logits, x.labels) : cappedCrossEntropy(logits, x.labels, cfg.lossCap);

  const head = infoPromptHeadLoss({
    prompt: P,
    headRep: params.head.weight,
    tokenEmbeds: model.embed(batch.inputIds),
    attentionMask: batch.attentionMask,
  }).loss;
  const r = cfg.negativesPerExample ?? 4;
  const unprompted = concat(
    Array.from({ length: r }, () => cls()),
    0,
  ); // [r·B, d]
  const repOut = infoPromptRepLoss({
    prompt: x.repAnchor ?? P,
    prompted: rowsAtPosition(model, h, 0),
    unprompted,
    params: params.rep,
    key: x.key,
    sample: x.sample ?? true,
  });
  const parts = { task, head, rep: repOut.loss, kl: repOut.kl };
  return { loss: infoPromptLoss(parts, cfg.weights ?? {}), logits, parts };
}
