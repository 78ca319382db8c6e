/**
 * Plumbing shared by the MI estimators: a score matrix [N, M] (rows: anchors, columns: candidates)
 * with one positive per row, read either from the diagonal or from an i32 column index per row.
 * Everything here is written with tensor ops only, so it runs on any backend.
 */
import {
  abs,
  add,
  arange,
  equal,
  exp,
  log1p,
  maximum,
  mul,
  neg,
  notEqual,
  reshape,
  sum,
  where,
  ShapeError,
} from '../core/index.ts';
import type { Tensor } from '../core/index.ts';

/** What every estimator returns: the loss to minimise and the MI (or divergence) estimate, both scalars. */
export interface MiEstimate {
  /** Scalar loss (minimise it). */
  readonly loss: Tensor;
  /** Scalar estimate in nats (InfoNCE: log N − loss; NWJ, DV, JSD: −loss). */
  readonly estimate: Tensor;
}

/** Where the positive of each row of a score matrix [N, M] sits. */
export interface ScoreOptions {
  /** i32 [N]: the column of each row's positive. Default: the diagonal (row i → column i; needs N ≤ M). */
  readonly positives?: Tensor;
}

/** Checks a score matrix [N, M] (and positives [N] when given); returns [N, M]. */
export function scoreShape(op: string, scores: Tensor, opts: ScoreOptions = {}): readonly [number, number] {
  if (scores.rank !== 2) throw new ShapeError(`${op}: scores must be [N, M], got [${scores.shape.join(', ')}]`);
  const [n, m] = scores.shape as readonly [number, number];
  const p = opts.positives;
  if (p === undefined) {
    if (n > m) throw new ShapeError(`${op}: diagonal positives need N ≤ M, got scores [${n}, ${m}] (pass positives)`);
  } else if (p.dtype !== 'i32' || p.rank !== 1 || p.shape[0] !== n) {
    throw new ShapeError(`${op}: positives must be i32 [${n}], got ${p.dtype} [${p.shape.join(', ')}]`);
  }
  return [n, m];
}

/** i32 [N, M]: 1 at each row's positive, 0 elsewhere. */
export function positiveMask(scores: Tensor, opts: ScoreOptions = {}): Tensor {
  const [n, m] = scoreShape('positiveMask', scores, opts);
  const bk = scores.backend;
  const rows = opts.positives ?? arange(bk, 0, n);
  return equal(reshape(rows, [n, 1]), reshape(arange(bk, 0, m), [1, m]));
}

/** Positive scores [N] = s[i, pos(i)] (selected with `where`, so ±∞ elsewhere cannot leak in). */
export function positiveScores(scores: Tensor, opts: ScoreOptions = {}): Tensor {
  return sum(where(positiveMask(scores, opts), scores, 0), -1);
}

/**
 * Mean of f over the N·(M−1) negatives (every non-positive entry) of scores [N, M]; a scalar.
 * f sees 0 in place of the positives (then masked out), so an f that overflows there cannot make NaN.
 */
export function meanOverNegatives(scores: Tensor, f: (s: Tensor) => Tensor, opts: ScoreOptions = {}): Tensor {
  const [n, m] = scoreShape('meanOverNegatives', scores, opts);
  if (m < 2) throw new ShapeError(`meanOverNegatives: scores [${n}, ${m}] have no negatives`);
  const isNeg = notEqual(positiveMask(scores, opts), 1);
  return mul(sum(where(isNeg, f(where(isNeg, scores, 0)), 0)), 1 / (n * (m - 1)));
}

/** The negatives of scores [N, M] with the positives replaced by −∞ (for log-sum-exp over negatives). */
export function negativesOnly(scores: Tensor, opts: ScoreOptions = {}): Tensor {
  return where(positiveMask(scores, opts), -Infinity, scores);
}

/**
 * softplus(x) = log(1 + eˣ), stable for any x: max(x, 0) + log1p(e^{−|x|}). The gradient is σ(x)
 * everywhere, including x = 0 (max splits its tie evenly: ½, and |x|'s sign(0) = 0 adds nothing).
 */
export const softplus = (x: Tensor): Tensor => add(maximum(x, 0), log1p(exp(neg(abs(x)))));
