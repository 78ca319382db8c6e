/**
 * Jensen–Shannon MI estimator (Hjelm et al. 2019, Deep InfoMax; f-GAN with the JS divergence):
 *   Î_JSD = E_P[−softplus(−T)] − E_Q[softplus(T)]  ≤  2·JSD(P‖Q) − log 4  ≤  0,
 * tight at T* = log dP/dQ. Not a bound on I in nats, but monotone in it and with low-variance
 * gradients. softplus is written stably (max(x,0) + log1p(e^{−|x|})), so |T| ~ 1e4 stays finite in f32.
 */
import { mean, neg, sub } from '../core/index.ts';
import type { Tensor } from '../core/index.ts';
import {
  meanOverNegatives,
  positiveScores,
  scoreShape,
  softplus,
  type MiEstimate,
  type ScoreOptions,
} from './scores.ts';

const result = (estimate: Tensor): MiEstimate => ({ loss: neg(estimate), estimate });

/** JSD estimator from samples: joint scores (any shape), marginal scores (any shape). */
export function jsdFromSamples(joint: Tensor, marginal: Tensor): MiEstimate {
  return result(sub(neg(mean(softplus(neg(joint)))), mean(softplus(marginal))));
}

/** JSD estimator over scores [N, M]: the positives are joint samples, the N·(M−1) others marginal ones. */
export function jsd(scores: Tensor, opts: ScoreOptions = {}): MiEstimate {
  scoreShape('jsd', scores, opts);
  const ep = neg(mean(softplus(neg(positiveScores(scores, opts)))));
  return result(sub(ep, meanOverNegatives(scores, softplus, opts)));
}
