/**
 * The method variants the grid compares, as RunConfig overrides, with their default learning rates.
 * Every variant trains a classifier head on [CLS] with the prompt (docs/methods.md), m = --prompt-length.
 *
 * Learning rates (not swept; see EXPERIMENTS.md): the soft-prompt family (soft, dynamic, InfoPrompt)
 * share one rate so that the only difference between them is the method; prefixes use the top of
 * P-tuning v2's 5e-3..1e-2 range.
 */
import { shuffle } from '../data/sampling.ts';
import type { RunConfig } from '../training/run-config.ts';

export interface Variant {
  readonly label: string;
  readonly lr: number;
  readonly config: Partial<RunConfig>;
}

const SOFT_LR = 2e-2;
/** The recorded grid (EXPERIMENTS.md) trained with dropout on, the library default then; kept so it reproduces. */
const RECORDED = { dropout: true } as const;

export const VARIANTS = {
  /** Lester et al.: m virtual tokens in front of [CLS], vocabulary-sampled init. */
  soft: { label: 'soft prompt', lr: SOFT_LR, config: { ...RECORDED, method: 'soft' } },
  /** P-tuning v2: a key/value prefix at every layer, no reparameterisation. */
  prefix: { label: 'deep prompt (prefix)', lr: 1e-2, config: { ...RECORDED, method: 'prefix' } },
  /** DP, task-level position (m+1 split points, Gumbel straight-through). */
  'dp-pos': {
    label: 'DP position',
    lr: SOFT_LR,
    config: { ...RECORDED, method: 'dynamic', dynamicPosition: 'task', dynamicLength: 'none', poolSize: 0 },
  },
  /** DP combined: instance-level position, task-level length, a pool of 4 prompts mixed per instance. */
  'dp-full': {
    label: 'DP pos+len+pool',
    lr: SOFT_LR,
    config: { ...RECORDED, method: 'dynamic', dynamicPosition: 'instance', dynamicLength: 'task', poolSize: 4 },
  },
  /** InfoPrompt losses (γ 0.1, β 0.2, KL 0.1) on a plain learned prompt: soft + the two MI terms. */
  infoprompt: { label: 'InfoPrompt', lr: SOFT_LR, config: { ...RECORDED, method: 'infoprompt', generatorHidden: 0 } },
} as const satisfies Record<string, Variant>;

export type VariantName = keyof typeof VARIANTS;

/** Share of the most frequent label (the accuracy of always predicting it). */
export function majorityRate(labels: readonly number[]): number {
  if (labels.length === 0) return NaN;
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return Math.max(...counts.values()) / labels.length;
}

/** The reported split subsampled: the first `limit` of a seeded shuffle (0 or ≥ size = all), the same for every run. */
export function subsampleVal<A>(xs: readonly A[], limit: number, seed: number): readonly A[] {
  return limit === 0 || xs.length <= limit ? xs : shuffle(xs, seed).slice(0, limit);
}
