/**
 * Gumbel-softmax (Jang et al. 2017; Maddison et al. 2017) for dynamic prompting's discrete choices
 * (position split, length, docs/methods.md §3), with an explicit PRNG key and DPT's temperature schedule.
 */
import {
  add,
  argmax,
  div,
  oneHot,
  softmax,
  stopGradient,
  sub,
  tensor,
  uniformArray,
  ShapeError,
} from '../core/index.ts';
import type { Backend, DType, PRNGKey, Shape, Tensor } from '../core/index.ts';

const TWO_POW_53 = 9007199254740992;

/**
 * Standard Gumbel noise g = −log(−log u) of the given shape, u ~ U(0, 1) from `key`. The uniforms are
 * moved to the open interval by half a step (u = (k + ½)/2⁵³), so g is always finite (|g| < 38);
 * it is computed in f64 on the host while the noise tensor is created, then stored in `dtype`.
 */
export function gumbelNoise(bk: Backend, key: PRNGKey, shape: Shape, dtype: DType = 'f32'): Tensor {
  const u = uniformArray(
    key,
    shape.reduce((a, b) => a * b, 1),
  );
  for (let i = 0; i < u.length; i++) u[i] = -Math.log(-Math.log(u[i]! + 0.5 / TWO_POW_53));
  return tensor(bk, u, { shape, dtype });
}

export interface GumbelOptions {
  /**
   * Straight-through: the forward value is the one-hot argmax, the backward the soft sample's
   * gradient. Default false (the soft relaxation).
   */
  readonly hard?: boolean;
}

/**
 * A Gumbel-softmax sample over the last axis of logits [..., C]: y = softmax((logits + g)/τ), g from
 * `key` (the same key gives the same g). With `hard`, y = onehot(argmax y) + (y − stopGradient(y)):
 * the forward value is exactly one-hot (y − y = 0 exactly) and the gradient is exactly the soft
 * sample's — the same straight-through estimator as the usual stopGradient(hard − soft) + soft, which
 * can miss an exact one-hot by an ulp.
 */
export function gumbelSoftmax(logits: Tensor, key: PRNGKey, tau: number, opts: GumbelOptions = {}): Tensor {
  if (!(tau > 0)) throw new RangeError(`gumbelSoftmax: tau must be > 0, got ${tau}`);
  if (logits.rank < 1) throw new ShapeError('gumbelSoftmax: logits must have a class axis [..., C]');
  const g = gumbelNoise(logits.backend, key, logits.shape, logits.dtype);
  const soft = softmax(div(add(logits, g), tau), -1);
  if (!opts.hard) return soft;
  const hard = oneHot(argmax(soft, -1), logits.shape.at(-1)!, logits.dtype);
  return add(hard, sub(soft, stopGradient(soft)));
}

export interface TemperatureSchedule {
  /** τ₀ (DPT: 1). */
  readonly start?: number;
  /** Floor (DPT: 0.5). */
  readonly min?: number;
  /** Anneal rate r (DPT: 3e-5). */
  readonly rate?: number;
  /** Steps between updates (DPT's code: 10). */
  readonly every?: number;
}

/**
 * DPT's temperature after `step` optimiser steps. docs/methods.md §3 gives the code's rule as
 * τ ← max(τ·exp(−r·t/10), τ_min) with t the step; read literally, with the update applied at steps
 * t = 10, 20, … (every `every` steps), the j-th update multiplies by exp(−r·j). Since every factor is
 * ≤ 1 the clamps collapse into one, giving the closed form
 *   τ(t) = max(τ₀·exp(−r·n(n+1)/2), τ_min),   n = ⌊t / every⌋.
 * This compounds (quadratic in n, the pattern of the widely copied Gumbel-softmax demo code); with
 * the defaults τ reaches 0.5 after n = 215 updates, i.e. step 2150. (The paper-style non-compounding
 * schedule τ = max(τ₀·exp(−r·t), τ_min) would take 23 105 steps.)
 */
export function gumbelTemperature(step: number, schedule: TemperatureSchedule = {}): number {
  const { start = 1, min = 0.5, rate = 3e-5, every = 10 } = schedule;
  if (!Number.isInteger(step) || step < 0)
    throw new RangeError(`gumbelTemperature: step must be an integer ≥ 0, got ${step}`);
  if (!Number.isInteger(every) || every < 1)
    throw new RangeError(`gumbelTemperature: every must be an integer ≥ 1, got ${every}`);
  const n = Math.floor(step / every);
  if (n === 0) return start; // no update has happened yet
  return Math.max(start * Math.exp((-rate * n * (n + 1)) / 2), min);
}
