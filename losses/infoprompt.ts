/**
 * InfoPrompt's losses (Wu et al., "InfoPrompt"; docs/methods.md §4), written from their definitions as
 * pure functions over tensors. How the encoder produces the representations is the caller's business.
 *   L_head: InfoNCE between the mean prompt and the mean head representation, against the batch's
 *           input token embeddings as negatives.
 *   L_rep:  InfoNCE between the (detached) mean prompt, projected, and the prompted representation
 *           through a k-d Gaussian bottleneck, against bottleneck outputs of unprompted inputs.
 *   total = task + γ·L_head + β·L_rep + klWeight·KL   (code: γ 0.1, β 0.2, klWeight 0.1).
 * The released code has shape and detach bugs; this follows the paper's intent (see the doc comments).
 */
import {
  add,
  exp,
  initLinear,
  linear,
  matmul,
  mean,
  mul,
  randomNormal,
  reshape,
  splitKey,
  stopGradient,
  sub,
  sum,
  ShapeError,
} from '../core/index.ts';
import type { Backend, FloatDType, LinearParams, PRNGKey, Tensor } from '../core/index.ts';
import { inverseSqrtDim } from './critic.ts';
import { infoNceOneVsMany } from './infonce.ts';
import type { MiEstimate } from './scores.ts';

// one Linear parameter type and initialiser for the whole project (core/tensor/nn.ts); re-exported where they were
export { initLinear, type LinearParams };

/** Gaussian bottleneck d → k: mean and log-variance heads. */
export interface BottleneckParams {
  readonly mu: LinearParams;
  readonly logVar: LinearParams;
}
/** Everything L_rep trains besides the prompt: the bottleneck and the prompt projection d → k. */
export interface InfoPromptParams {
  readonly bottleneck: BottleneckParams;
  readonly projection: LinearParams;
}
export interface InfoPromptDims {
  /** Hidden size d of prompts and representations. */
  readonly d: number;
  /** Bottleneck size k (code: 32). */
  readonly k?: number;
}

export function initBottleneck(
  bk: Backend,
  key: PRNGKey,
  dims: InfoPromptDims,
  dtype: FloatDType = 'f32',
): BottleneckParams {
  const [km, kv] = splitKey(key, 2) as [PRNGKey, PRNGKey];
  const k = dims.k ?? 32;
  return { mu: initLinear(bk, km, dims.d, k, dtype), logVar: initLinear(bk, kv, dims.d, k, dtype) };
}

/** The parameter tree of L_rep (a plain object of tensors, ready for valueAndGrad). */
export function initInfoPromptParams(
  bk: Backend,
  key: PRNGKey,
  dims: InfoPromptDims,
  dtype: FloatDType = 'f32',
): InfoPromptParams {
  const [kb, kp] = splitKey(key, 2) as [PRNGKey, PRNGKey];
  return {
    bottleneck: initBottleneck(bk, kb, dims, dtype),
    projection: initLinear(bk, kp, dims.d, dims.k ?? 32, dtype),
  };
}

export interface BottleneckOut {
  /** [R, k]: μ + e^{logσ²/2}·ε (or μ when not sampling). */
  readonly z: Tensor;
  readonly mu: Tensor;
  readonly logVar: Tensor;
  /** Scalar: mean over the R rows of KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ_k (μ² + σ² − log σ² − 1). */
  readonly kl: Tensor;
}

/** Gaussian bottleneck with the reparameterisation trick: h [R, d] → z [R, k]; ε from `key`. */
export function bottleneck(p: BottleneckParams, h: Tensor, key: PRNGKey, sample = true): BottleneckOut {
  if (h.rank !== 2) throw new ShapeError(`bottleneck: h must be [R, d], got [${h.shape.join(', ')}]`);
  const mu = linear(h, p.mu.weight, p.mu.bias);
  const logVar = linear(h, p.logVar.weight, p.logVar.bias);
  const z = sample
    ? add(mu, mul(exp(mul(logVar, 0.5)), randomNormal(h.backend, key, mu.shape, 0, 1, { dtype: mu.dtype })))
    : mu;
  const kl = mean(mul(sum(sub(add(mul(mu, mu), exp(logVar)), add(logVar, 1)), -1), 0.5));
  return { z, mu, logVar, kl };
}

/** Mean over the m prompt tokens: P [m, d] → [1, d] (one shared prompt) or [B, m, d] → [B, d] (per instance). */
export function meanPrompt(prompt: Tensor): Tensor {
  if (prompt.rank === 2) return reshape(mean(prompt, 0), [1, prompt.shape[1]!]);
  if (prompt.rank === 3) return mean(prompt, 1);
  throw new ShapeError(`meanPrompt: prompt must be [m, d] or [B, m, d], got [${prompt.shape.join(', ')}]`);
}

export interface HeadLossInputs {
  /** Prompt P [m, d] (shared) or [B, m, d] (generated per instance). */
  readonly prompt: Tensor;
  /** Head representation [C, d] (e.g. classifier weight rows or label-word embeddings); its row mean is used. */
  readonly headRep: Tensor;
  /** The batch's input token embeddings E(x) [B, T, d] (the negatives; constants of the frozen encoder). */
  readonly tokenEmbeds: Tensor;
  /** [B, T], nonzero = a real token; padding is excluded from the negatives. */
  readonly attentionMask?: Tensor;
  /** Dot-product scale; default 1/√d. */
  readonly scale?: number;
}

/**
 * L_head: InfoNCE with positive ⟨mean(P), mean(headRep)⟩·s against the B·T negatives ⟨mean(P), e_t⟩·s
 * (s = 1/√d). With a per-instance prompt each anchor b = mean(P_b) faces every token of the batch.
 */
export function infoPromptHeadLoss(x: HeadLossInputs): MiEstimate {
  const a = meanPrompt(x.prompt); // [A, d], A ∈ {1, B}
  const d = a.shape[1]!;
  const [b, t, dE] = x.tokenEmbeds.shape;
  if (x.tokenEmbeds.rank !== 3 || dE !== d || x.headRep.rank !== 2 || x.headRep.shape[1] !== d) {
    throw new ShapeError(
      `infoPromptHeadLoss: need tokenEmbeds [B, T, ${d}] and headRep [C, ${d}], got [${x.tokenEmbeds.shape.join(', ')}] and [${x.headRep.shape.join(', ')}]`,
    );
  }
  const s = x.scale ?? inverseSqrtDim(d);
  const h = reshape(mean(x.headRep, 0), [1, d]);
  const positive = mul(sum(mul(a, h), -1), s); // [A]
  const negatives = mul(matmul(a, reshape(x.tokenEmbeds, [b! * t!, d]), false, true), s); // [A, B·T]
  const mask = x.attentionMask ? reshape(x.attentionMask, [1, b! * t!]) : undefined;
  return infoNceOneVsMany(positive, negatives, mask ? { mask } : {});
}

export interface RepLossInputs {
  /** Prompt P [m, d] or [B, m, d]; detached inside (L_rep does not move the prompt through the critic). */
  readonly prompt: Tensor;
  /** Prompted representations [B, d] (e.g. the `<s>`/[CLS] output with the prompt). */
  readonly prompted: Tensor;
  /** Unprompted representations [K, d] (code: K = 4·B), the negatives. */
  readonly unprompted: Tensor;
  readonly params: InfoPromptParams;
  /** Key for the reparameterised samples (split for positives and negatives). */
  readonly key: PRNGKey;
  /** Dot-product scale; default 1/√d with d the hidden size (docs/methods.md §4 "/√d"). */
  readonly scale?: number;
  /** false: use the bottleneck means (evaluation). */
  readonly sample?: boolean;
}

/**
 * L_rep: anchors a = W_proj·stopGradient(mean(P)) + b_proj [A, k]; positive_b = ⟨a_b, z_b⟩·s with
 * z = bottleneck(prompted) [B, k]; negatives ⟨a_b, z'_j⟩·s with z' = bottleneck(unprompted) [K, k].
 * `kl` is the bottleneck KL of the prompted representations (mean over B), to be weighted separately.
 */
export function infoPromptRepLoss(x: RepLossInputs): MiEstimate & { readonly kl: Tensor } {
  const a0 = stopGradient(meanPrompt(x.prompt));
  const d = a0.shape[1]!;
  if (
    x.prompted.rank !== 2 ||
    x.unprompted.rank !== 2 ||
    x.prompted.shape[1] !== d ||
    x.unprompted.shape[1] !== d ||
    (a0.shape[0] !== 1 && a0.shape[0] !== x.prompted.shape[0])
  ) {
    throw new ShapeError(
      `infoPromptRepLoss: need prompted [B, ${d}], unprompted [K, ${d}] and a prompt [m, ${d}] or [B, m, ${d}], got [${x.prompted.shape.join(', ')}], [${x.unprompted.shape.join(', ')}], [${x.prompt.shape.join(', ')}]`,
    );
  }
  const [kPos, kNeg] = splitKey(x.key, 2) as [PRNGKey, PRNGKey];
  const sample = x.sample ?? true;
  const pos = bottleneck(x.params.bottleneck, x.prompted, kPos, sample);
  const neg = bottleneck(x.params.bottleneck, x.unprompted, kNeg, sample);
  const a = linear(a0, x.params.projection.weight, x.params.projection.bias); // [A, k]
  const s = x.scale ?? inverseSqrtDim(d);
  const positive = mul(sum(mul(a, pos.z), -1), s); // [B]
  const negatives = mul(matmul(a, neg.z, false, true), s); // [A, K]
  return { ...infoNceOneVsMany(positive, negatives), kl: pos.kl };
}

export interface InfoPromptWeights {
  /** Weight of L_head (code: 0.1). */
  readonly gamma: number;
  /** Weight of L_rep (code: 0.2). */
  readonly beta: number;
  /** Weight of the bottleneck KL (code: 0.1). */
  readonly klWeight: number;
}
export const INFOPROMPT_WEIGHTS: InfoPromptWeights = Object.freeze({ gamma: 0.1, beta: 0.2, klWeight: 0.1 });

export interface InfoPromptTerms {
  /** Task loss (cross-entropy, or cappedCrossEntropy as the code does), scalar. */
  readonly task: Tensor;
  readonly head?: Tensor;
  readonly rep?: Tensor;
  readonly kl?: Tensor;
}

/** task + γ·head + β·rep + klWeight·kl (absent terms are skipped). */
export function infoPromptLoss(terms: InfoPromptTerms, weights: Partial<InfoPromptWeights> = {}): Tensor {
  const w = { ...INFOPROMPT_WEIGHTS, ...weights };
  let total = terms.task;
  if (terms.head) total = add(total, mul(terms.head, w.gamma));
  if (terms.rep) total = add(total, mul(terms.rep, w.beta));
  if (terms.kl) total = add(total, mul(terms.kl, w.klWeight));
  return total;
}
