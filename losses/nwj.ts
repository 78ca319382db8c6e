/**
 * KL-based MI bounds (Nguyen–Wainwright–Jordan / f-GAN, and Donsker–Varadhan as used by MINE).
 * With T a critic, P the joint and Q the product of marginals:
 *   NWJ (MINE-f):  I ≥ E_P[T] − e^{−1} E_Q[e^T]          (tight at T* = 1 + log dP/dQ)
 *   DV (MINE):     I ≥ E_P[T] − log E_Q[e^T]             (tight at T* = log dP/dQ + c; DV ≥ NWJ for any T)
 * Both come in a samples form (scores of joint samples, scores of marginal samples, any shapes) and a
 * score-matrix form [N, M]: the positives are the joint samples and every other entry a marginal sample.
 * NWJ's e^T term is exponentially large by nature: for scores far above ~88 (f32) it overflows; pass
 * `clip` to cap the marginal scores (zero gradient above the cap). DV uses a stable log-mean-exp.
 * MINE's moving-average gradient correction is a training-loop concern and is not done here.
 */
import { exp, lessEqual, logSumExp, mean, neg, reshape, ShapeError, sub, where } from '../core/index.ts';
import type { Tensor } from '../core/index.ts';
import {
  meanOverNegatives,
  negativesOnly,
  positiveScores,
  scoreShape,
  type MiEstimate,
  type ScoreOptions,
} from './scores.ts';

export interface NwjOptions {
  /** Marginal scores above this are replaced by it before e^{T−1} (their gradient is zero). */
  readonly clip?: number;
}

const clipped = (s: Tensor, clip: number | undefined): Tensor =>
  clip === undefined ? s : where(lessEqual(s, clip), s, clip);
const nwjTerm =
  (clip: number | undefined) =>
  (s: Tensor): Tensor =>
    exp(sub(clipped(s, clip), 1));
const result = (estimate: Tensor): MiEstimate => ({ loss: neg(estimate), estimate });

/** An expectation over no samples is undefined: refused like the score-matrix forms' missing negatives. */
function requireSamples(op: string, joint: Tensor, marginal: Tensor): void {
  if (joint.size === 0 || marginal.size === 0)
    throw new ShapeError(
      `${op}: needs at least one joint and one marginal sample, got [${joint.shape.join(', ')}] and [${marginal.shape.join(', ')}]`,
    );
}

/** NWJ from samples: joint scores (any shape) and marginal scores (any shape): E_P[T] − E_Q[e^{T−1}]. */
export function nwjFromSamples(joint: Tensor, marginal: Tensor, opts: NwjOptions = {}): MiEstimate {
  requireSamples('nwjFromSamples', joint, marginal);
  return result(sub(mean(joint), mean(nwjTerm(opts.clip)(marginal))));
}

/** NWJ over scores [N, M]: E over the N positives of T − E over the N·(M−1) negatives of e^{T−1}. */
export function nwj(scores: Tensor, opts: ScoreOptions & NwjOptions = {}): MiEstimate {
  scoreShape('nwj', scores, opts);
  const eq = meanOverNegatives(scores, nwjTerm(opts.clip), opts);
  return result(sub(mean(positiveScores(scores, opts)), eq));
}

/** log mean exp over every element of x (a scalar); −∞ entries are excluded from the sum but counted in n. */
export function logMeanExp(x: Tensor, count = x.size): Tensor {
  return sub(logSumExp(reshape(x, [-1]), 0), Math.log(count));
}

/** DV/MINE from samples: E_P[T] − log E_Q[e^T], with a stable log-mean-exp. */
export function mineDvFromSamples(joint: Tensor, marginal: Tensor): MiEstimate {
  requireSamples('mineDvFromSamples', joint, marginal);
  return result(sub(mean(joint), logMeanExp(marginal)));
}

/** DV/MINE over scores [N, M]: mean of the positives − log-mean-exp of the N·(M−1) negatives. */
export function mineDv(scores: Tensor, opts: ScoreOptions = {}): MiEstimate {
  const [n, m] = scoreShape('mineDv', scores, opts);
  // As nwj and jsd (meanOverNegatives): log E_Q over no samples is undefined, not a number to train on.
  if (m < 2) throw new ShapeError(`mineDv: scores [${n}, ${m}] have no negatives`);
  return result(sub(mean(positiveScores(scores, opts)), logMeanExp(negativesOnly(scores, opts), n * (m - 1))));
}
