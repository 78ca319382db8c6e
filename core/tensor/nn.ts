/** Composites built from primitives (their gradients come for free): logsumexp, cross-entropy, linear, dropout, attention. */
import type { Backend, BackendName } from '../backend/backend.ts';
import { stopGradient } from '../autograd/grad.ts';
import { randomUniform, tensor } from './creation.ts';
import type { FloatDType } from './dtype.ts';
import { splitKey, uniformArray, type PRNGKey } from './random.ts';
import { fmt, ShapeError, sizeOf } from './shape.ts';
import { isTensor, type AnyTensor, type Tensor } from './tensor.ts';
import {
  abs,
  add,
  cast,
  div,
  exp,
  fusedAttention,
  fusedAttentionMismatch,
  less,
  log,
  matmul,
  matmulBias,
  max,
  mean,
  mul,
  notEqual,
  reshape,
  softmax,
  softmaxCrossEntropy,
  sub,
  sum,
  where,
} from './ops/index.ts';

/** log Σ exp along `axis`, stabilised by a detached max (so stabilising does not change the gradient). */
export function logSumExp(x: Tensor, axis = -1, keepdims = false): Tensor {
  const m = stopGradient(max(x, axis, true));
  const finiteM = where(less(abs(m), Infinity), m, 0); // ±inf max → 0, as torch.logsumexp
  const r = add(log(sum(exp(sub(x, finiteM)), axis, true)), finiteM);
  return keepdims
    ? r
    : reshape(
        r,
        x.shape.filter((_, i) => i !== (axis < 0 ? axis + x.rank : axis)),
      );
}

export interface CrossEntropyOptions {
  /** Labels equal to this are excluded from the loss and the mean (torch's default -100). */
  readonly ignoreIndex?: number;
  readonly reduction?: 'mean' | 'sum' | 'none';
  /** Label smoothing ε as torch: (1-ε)·one-hot + ε/C. */
  readonly labelSmoothing?: number;
}

/** Cross-entropy of logits [..., C] against i32 labels [...]; torch.nn.functional.cross_entropy semantics. */
export function crossEntropy(logits: Tensor, labels: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const C = logits.shape.at(-1)!;
  const lead = logits.shape.slice(0, -1);
  if (labels.dtype !== 'i32' || labels.shape.length !== lead.length || labels.shape.some((d, i) => d !== lead[i])) {
    throw new ShapeError(
      `crossEntropy: labels must be i32 ${fmt(lead)} for logits ${fmt(logits.shape)}, got ${labels.dtype} ${fmt(labels.shape)}`,
    );
  }
  const ignore = opts.ignoreIndex ?? -100;
  const N = sizeOf(lead);
  const perExample = reshape(
    softmaxCrossEntropy(reshape(logits, [N, C]), reshape(labels, [N]), ignore, opts.labelSmoothing ?? 0),
    lead,
  );
  switch (opts.reduction ?? 'mean') {
    case 'none':
      return perExample;
    case 'sum':
      return sum(perExample);
    case 'mean':
      return div(sum(perExample), sum(cast(notEqual(labels, ignore), logits.dtype))); // over non-ignored rows
  }
}

/** A trainable torch Linear's parameters: weight [out, in], bias [out] (what `linear` applies). */
export interface LinearParams {
  readonly weight: Tensor;
  readonly bias: Tensor;
}

/** Whether a tree node is a Linear's parameters: tensors at `weight` and `bias`. */
export const isLinearParams = (tree: object): tree is LinearParams =>
  'weight' in tree && isTensor(tree.weight) && 'bias' in tree && isTensor(tree.bias);

/** torch.nn.Linear's default init: weight and bias ~ U(−1/√in, 1/√in). */
export function initLinear(
  bk: Backend,
  key: PRNGKey,
  inDim: number,
  outDim: number,
  dtype: FloatDType = 'f32',
): LinearParams {
  const [kw, kb] = splitKey(key, 2) as [PRNGKey, PRNGKey];
  const bound = 1 / Math.sqrt(inDim);
  return {
    weight: randomUniform(bk, kw, [outDim, inDim], -bound, bound, { dtype }),
    bias: randomUniform(bk, kb, [outDim], -bound, bound, { dtype }),
  };
}

/** HF/torch Linear: x [..., in] · weightᵀ (weight [out, in]) + bias [out]. */
export function linear(x: Tensor, weight: AnyTensor, bias?: Tensor): Tensor {
  if (x.shape.at(-1) !== weight.shape[1]) {
    throw new ShapeError(
      `linear: input ${fmt(x.shape)} does not match weight ${fmt(weight.shape)} (want [out, ${x.shape.at(-1)}])`,
    );
  }
  const x2 = reshape(x, [-1, x.shape.at(-1)!]);
  const outShape = [...x.shape.slice(0, -1), weight.shape[0]!];
  // a bias of exactly [out] rides in the product's kernel; any other (broadcastable) bias is a plain add
  if (bias && bias.rank === 1 && bias.shape[0] === weight.shape[0])
    return reshape(matmulBias(x2, weight, bias), outShape);
  const out = reshape(matmul(x2, weight, false, true), outShape);
  return bias ? add(out, bias) : out;
}

/** Inverted dropout with an explicit key: keeps with probability 1-p and scales by 1/(1-p). */
export function dropout(x: Tensor, key: PRNGKey, p: number): Tensor {
  if (p <= 0) return x;
  if (p >= 1) return mul(x, 0);
  const u = uniformArray(key, sizeOf(x.shape));
  const keep = new Float64Array(u.length);
  for (let i = 0; i < u.length; i++) keep[i] = u[i]! >= p ? 1 / (1 - p) : 0;
  return mul(x, tensor(x.backend, keep, { shape: x.shape, dtype: x.dtype }));
}

export const variance = (x: Tensor, axis = -1, keepdims = false): Tensor => {
  const mu = mean(x, axis, true);
  const d = sub(x, mu);
  return mean(mul(d, d), axis, keepdims);
};

/**
 * Scaled dot-product attention as matmul + masked softmax + matmul (the reference composite):
 * q [B, H, Tq, Dh], k/v [B, H, Tk, Dh], additive `bias` broadcastable to [B, H, Tq, Tk].
 * `keyWeights` (broadcastable to [B, H, Tq, Tk], values in [0, 1]) scale each key's softmax
 * numerator and renormalise: a weight of 0 is exactly a mask, and unlike an additive mask the result
 * is differentiable in the weight (dynamic prompt length).
 * Without keyWeights, for rank-4 q/k/v and a bias that is not being differentiated (a mask), this runs
 * the fused primitive `fusedAttention` (same values and gradients, no [B,H,Tq,Tk] tensors kept);
 * `attentionComposite` is the reference path.
 */
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias?: Tensor,
  scale = 1 / Math.sqrt(q.shape.at(-1)!),
  keyWeights?: Tensor,
): Tensor {
  if (
    !keyWeights &&
    FUSED_ATTENTION[q.backend.name] &&
    !bias?.activeTrace &&
    q.shape.at(-1)! <= FUSED_MAX_DH &&
    fusedAttentionMismatch(q, k, v, bias) === undefined
  ) {
    return fusedAttention(q, k, v, bias, scale);
  }
  return attentionComposite(q, k, v, bias, scale, keyWeights);
}

/**
 * Backends whose `attention` goes to the fused primitive (mutable: benches flip it). WebGPU stays on the
 * composite until its flash kernels beat it: on lavapipe they are ~1.3× slower (BENCHMARKS.md, fused attention).
 */
export const FUSED_ATTENTION: Record<BackendName, boolean> = { cpu: true, wasm: true, webgpu: false };

/** Head sizes the fused kernels take (WGSL keeps a query row in registers). */
export const FUSED_MAX_DH = 256;

/** matmul + masked softmax + matmul, saving the probabilities for backward (llm.c). */
export function attentionComposite(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias?: Tensor,
  scale = 1 / Math.sqrt(q.shape.at(-1)!),
  keyWeights?: Tensor,
): Tensor {
  return matmul(scaledDotProductProbs(q, k, bias, scale, keyWeights), v);
}

/**
 * attentionComposite's probabilities, softmax(scale·q·kᵀ + bias) reweighted by keyWeights, for the callers
 * that drop some of them out before the product with v (BERT's attention-probability dropout).
 */
export function scaledDotProductProbs(
  q: Tensor,
  k: Tensor,
  bias?: Tensor,
  scale = 1 / Math.sqrt(q.shape.at(-1)!),
  keyWeights?: Tensor,
): Tensor {
  let scores = mul(matmul(q, k, false, true), scale);
  if (bias) scores = add(scores, bias);
  return attentionProbs(softmax(scores, -1), keyWeights);
}

/** Reweights softmax probabilities by per-key weights and renormalises each row. */
export function attentionProbs(probs: Tensor, keyWeights?: Tensor): Tensor {
  if (!keyWeights) return probs;
  const w = mul(probs, keyWeights);
  return div(w, sum(w, -1, true));
}

export const mse = (a: Tensor, b: Tensor): Tensor => mean(mul(sub(a, b), sub(a, b)));
