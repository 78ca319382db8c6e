/**
 * Gradient clipping by global norm with torch.nn.utils.clip_grad_norm_ semantics (norm_type 2):
 *   total = ‖(‖g₁‖, ‖g₂‖, …)‖₂,  coef = min(1, maxNorm / (total + 1e-6)),  gᵢ ← coef·gᵢ
 * Everything stays on the device (no read-back): the pre-clip norm comes back as a scalar tensor.
 * As torch, every leaf is multiplied by the clamped coefficient (×1 is exact, so an unclipped step
 * returns the same values).
 */
import {
  add,
  cast,
  concat,
  div,
  minimum,
  mul,
  reshape,
  scope,
  sqrt,
  square,
  sum,
  treeLeaves,
  treeMap,
  type Tensor,
} from '../core/index.ts';

export interface ClipResult<G> {
  readonly grads: G;
  /** Pre-clip global 2-norm (scalar; f64 if any leaf is f64, else f32). */
  readonly norm: Tensor;
}

/** Global 2-norm of every leaf, as torch computes it (per-leaf norms, then their norm). */
export function globalNorm(grads: unknown): Tensor {
  const leaves = treeLeaves(grads).map((l) => l.leaf);
  const first = leaves[0];
  if (!first) throw new Error('globalNorm: the gradient tree has no tensor leaves');
  const dtype = leaves.some((l) => l.dtype === 'f64') ? 'f64' : 'f32';
  return scope(first.backend, () => {
    const norms = leaves.map((g) => reshape(cast(sqrt(sum(square(g))), dtype), [1]));
    return sqrt(sum(square(concat(norms, 0))));
  });
}

export function clipByGlobalNorm<G>(grads: G, maxNorm: number): ClipResult<G> {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm))
    throw new RangeError(`clipByGlobalNorm: maxNorm must be finite and > 0, got ${maxNorm}`);
  const norm = globalNorm(grads);
  return scope(norm.backend, () => {
    const coef = minimum(div(maxNorm, add(norm, 1e-6)), 1);
    const clipped = treeMap(grads, (g) => mul(g, cast(coef, g.dtype)));
    return { grads: clipped, norm };
  });
}
