/**
 * InfoPrompt with its own classifier head and encoder pass, for API users who train it without a task model
 * (examples/train-infoprompt.ts, the gradient proofs): the same steps as the method registry's entry, from
 * infoprompt.ts (`initInfoPromptMethodParams`, `infoPromptInputs`, `infoPromptObjective`), plus the head.
 */
import { cast, div, expandDims, mul, reshape, splitKey, sum, type PRNGKey, type Tensor } from '../core/index.ts';
import type { BertModel } from '../models/bert/model.ts';
import type { Linear } from '../models/bert/modules.ts';
import type { TokenBatch } from './common.ts';
import { classifierLogits, initClassifier, rowsAtPosition, type ClassifierParams } from './heads.ts';
import {
  infoPromptInputs,
  infoPromptObjective,
  initInfoPromptMethodParams,
  validateInfoPromptConfig,
  type InfoPromptLoss,
  type InfoPromptMethodConfig,
  type InfoPromptMethodParams,
} from './infoprompt.ts';

/** The method with its own classifier head (`initInfoPrompt` / `infoPromptForward`). */
export interface InfoPromptConfig extends InfoPromptMethodConfig {
  readonly numLabels: number;
  /**
   * What the classifier reads: 'cls' (default; the pooler on position 0, as BertForSequenceClassification)
   * or 'mean' (the pooler on the masked mean of the prompted sequence — useful on encoders whose [CLS]
   * output barely depends on the input, such as randomly initialised test models).
   */
  readonly readout?: 'cls' | 'mean';
}

/** The method's tree with its classifier head. */
export interface InfoPromptModelParams extends InfoPromptMethodParams {
  readonly head: ClassifierParams;
}

/** The method's tree and a classifier head (HF's init), for training without a task model. */
export function initInfoPrompt(model: BertModel, cfg: InfoPromptConfig, key: PRNGKey): InfoPromptModelParams {
  validateInfoPromptConfig(cfg);
  const [km, kh] = splitKey(key, 2) as [PRNGKey, PRNGKey];
  return { ...initInfoPromptMethodParams(model, cfg, km), head: initClassifier(model, cfg.numLabels, kh) };
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

export interface InfoPromptOutputs extends InfoPromptLoss {
  /** [B, C] */
  readonly logits: Tensor;
}

/** Full InfoPrompt objective on one batch, encoder pass and classifier included (differentiate `loss`). */
export function infoPromptForward(
  model: BertModel,
  params: InfoPromptModelParams,
  cfg: InfoPromptConfig,
  x: InfoPromptStepInputs,
): InfoPromptOutputs {
  const fwd = infoPromptInputs(model, params, x.batch, cfg);
  const B = x.batch.B;
  const clsReadout = (cfg.readout ?? 'cls') === 'cls';
  // the [CLS] readout and L_rep read only position 0: the last layer computes that row alone
  const h = model.encode({
    ...fwd.inputs,
    skipPadding: true,
    ...(clsReadout ? { outputPositions: Array.from({ length: B }, () => [0]) } : {}),
  }).lastHiddenState;
  const logits = clsReadout
    ? classifierLogits(model, h, params.head, x.pooler ? { pooler: x.pooler } : {})
    : meanReadoutLogits(model, h, fwd.inputs.attentionMask!, params.head, x.pooler);
  const objective = infoPromptObjective(model, params, cfg, fwd, {
    logits,
    labels: x.labels,
    headWeight: params.head.weight,
    prompted: rowsAtPosition(model, h, 0),
    key: x.key,
    sample: x.sample ?? true,
    ...(x.repAnchor ? { repAnchor: x.repAnchor } : {}),
  });
  return { ...objective, logits };
}
