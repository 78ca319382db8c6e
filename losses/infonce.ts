/**
 * InfoNCE (van den Oord et al. 2018; Poole et al. 2019): with N candidates per anchor,
 *   L = mean_i [ −s_i,pos(i) + logsumexp_j s_ij ],   I(X; Y) ≥ log N − L,
 * so the estimate never exceeds log N. The scores are the logits of an N-way softmax cross-entropy
 * (computed with the fused log-softmax, which subtracts the row max: stable in f32 for |s| ~ 1e4).
 */
import {
  add,
  broadcastTo,
  cast,
  concat,
  log,
  logSoftmax,
  mean,
  mul,
  neg,
  notEqual,
  reshape,
  sub,
  sum,
  where,
  zeros,
  ShapeError,
} from '../core/index.ts';
import type { Tensor } from '../core/index.ts';
import { positiveMask, scoreShape, type MiEstimate, type ScoreOptions } from './scores.ts';

export interface InfoNceOptions extends ScoreOptions {
  /** Scores are divided by τ before the softmax (default 1: the critic already scaled them). */
  readonly temperature?: number;
}

const scaled = (scores: Tensor, temperature = 1): Tensor => {
  if (!(temperature > 0)) throw new RangeError(`infoNce: temperature must be > 0, got ${temperature}`);
  return temperature === 1 ? scores : mul(scores, 1 / temperature);
};

/**
 * Per-anchor InfoNCE loss [N] for scores [N, M]: logsumexp_j s_ij − s_i,pos(i) (τ-scaled).
 * Entries equal to −∞ are excluded candidates (they get zero probability and zero gradient).
 */
export function infoNcePerExample(scores: Tensor, opts: InfoNceOptions = {}): Tensor {
  scoreShape('infoNce', scores, opts);
  const logp = logSoftmax(scaled(scores, opts.temperature), -1);
  return neg(sum(where(positiveMask(scores, opts), logp, 0), -1));
}

/**
 * InfoNCE over a score matrix [N, M] (rows: anchors; the positive on the diagonal, or at
 * `positives` [N] i32). loss = mean of infoNcePerExample; estimate = log M − loss ≤ log M.
 */
export function infoNce(scores: Tensor, opts: InfoNceOptions = {}): MiEstimate {
  const [, m] = scoreShape('infoNce', scores, opts);
  const loss = mean(infoNcePerExample(scores, opts));
  return { loss, estimate: sub(Math.log(m), loss) };
}

export interface OneVsManyOptions {
  /** Nonzero = a valid negative; broadcastable to [B, K] (e.g. [1, K] for padding shared by all rows). */
  readonly mask?: Tensor;
  readonly temperature?: number;
}

/**
 * The "one positive vs K negatives" form (InfoPrompt's losses): positive scores [B], negative
 * scores [B, K] (or [1, K], shared by every row). Row b is an InfoNCE over 1 + K_b candidates
 * (K_b = valid negatives of row b); estimate = mean_b log(1 + K_b) − loss.
 */
export function infoNceOneVsMany(positive: Tensor, negatives: Tensor, opts: OneVsManyOptions = {}): MiEstimate {
  if (
    positive.rank !== 1 ||
    negatives.rank !== 2 ||
    (negatives.shape[0] !== positive.shape[0] && negatives.shape[0] !== 1)
  ) {
    throw new ShapeError(
      `infoNceOneVsMany: need positive [B] and negatives [B, K] or [1, K], got [${positive.shape.join(', ')}] and [${negatives.shape.join(', ')}]`,
    );
  }
  const b = positive.shape[0]!,
    k = negatives.shape[1]!;
  let neg2 = broadcastTo(negatives, [b, k]);
  let counts: Tensor | number = k;
  if (opts.mask) {
    const valid = broadcastTo(notEqual(opts.mask, 0), [b, k]);
    neg2 = where(valid, neg2, -Infinity);
    counts = sum(cast(valid, positive.dtype), -1);
  }
  const scores = concat([reshape(positive, [b, 1]), neg2], 1);
  const firstColumn = zeros(positive.backend, [b], 'i32');
  const loss = mean(
    infoNcePerExample(scores, {
      positives: firstColumn,
      ...(opts.temperature === undefined ? {} : { temperature: opts.temperature }),
    }),
  );
  const logN = typeof counts === 'number' ? Math.log(1 + counts) : mean(log(add(counts, 1)));
  return { loss, estimate: sub(logN, loss) };
}
