/**
 * The task loss. `crossEntropy` is core's (torch.nn.functional.cross_entropy semantics: logits
 * [..., C], i32 labels [...], ignoreIndex −100, label smoothing, mean/sum/none), re-exported so
 * training code can take every loss from `losses/`.
 */
import { cast, crossEntropy, div, lessEqual, notEqual, sum, where } from '../core/index.ts';
import type { CrossEntropyOptions, Tensor } from '../core/index.ts';

export { crossEntropy, type CrossEntropyOptions } from '../core/index.ts';

/**
 * Cross-entropy with each example's loss capped: ℓ_i ← min(ℓ_i, cap), as InfoPrompt's code does with
 * cap 2. A capped example contributes `cap` to the value and exactly zero gradient (an example whose
 * loss equals the cap keeps its gradient, like torch.clamp). logits [B, C] (or [..., C]), labels i32
 * [B]. 'mean' divides by the number of non-ignored examples (as crossEntropy does).
 */
export function cappedCrossEntropy(logits: Tensor, labels: Tensor, cap = 2, opts: CrossEntropyOptions = {}): Tensor {
  if (!(cap >= 0)) throw new RangeError(`cappedCrossEntropy: cap must be ≥ 0, got ${cap}`);
  const perExample = crossEntropy(logits, labels, { ...opts, reduction: 'none' });
  const capped = where(lessEqual(perExample, cap), perExample, cap);
  switch (opts.reduction ?? 'mean') {
    case 'none':
      return capped;
    case 'sum':
      return sum(capped);
    case 'mean':
      return div(sum(capped), sum(cast(notEqual(labels, opts.ignoreIndex ?? -100), logits.dtype)));
  }
}
