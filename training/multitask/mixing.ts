/**
 * The multitask mixing sampler. Each step trains on one task's batch (homogeneous batches: a task's
 * head, label set and prompt parts see only its own examples). Which task is drawn by the mixing rule
 * over the tasks' training-set sizes n_t:
 *   proportional  p_t = n_t / Σ n            (examples-proportional mixing)
 *   uniform       p_t = 1 / N
 *   temperature:T p_t ∝ n_t^(1/T)            (T = 1 is proportional, T → ∞ uniform; T5 / mT5)
 * The draw of step s is a pure function of (seed, s), so it needs no RNG state. Each task then takes
 * the next batch of its own seeded epoch order, exactly the order a single-task run with the same seed
 * uses (`epochBatches(train, B, seed, epoch)`); its position there (draws, epoch, cursor) is the
 * sampler state, kept in the checkpoint.
 */
import { deriveSeed, epochBatches, mulberry32 } from '../../data/index.ts';
import type { MixRule } from '../run-config.ts';

/** One task's place in its own data order. `draws` = batches taken = optimiser updates of its parameters. */
export interface TaskCursor {
  readonly draws: number;
  readonly epoch: number;
  readonly cursor: number;
}

export interface SamplerState {
  /** Per task, in the run's task order. */
  readonly tasks: readonly TaskCursor[];
}

/** Salt separating the task draws from the epoch shuffles (deriveSeed(seed, epoch)). */
const DRAW_SALT = 0x6d697874;

export const freshSampler = (numTasks: number): SamplerState => ({
  tasks: Array.from({ length: numTasks }, () => ({ draws: 0, epoch: 0, cursor: 0 })),
});

/** The mixing probabilities over tasks with training-set sizes `sizes`. */
export function mixWeights(rule: MixRule, sizes: readonly number[]): readonly number[] {
  if (sizes.length === 0) throw new RangeError('mixWeights: no tasks');
  for (const n of sizes)
    if (!Number.isSafeInteger(n) || n < 1)
      throw new RangeError(`mixWeights: every task needs train examples, got ${n}`);
  const raw =
    rule.kind === 'uniform'
      ? sizes.map(() => 1)
      : rule.kind === 'proportional'
        ? sizes
        : sizes.map((n) => Math.pow(n, 1 / rule.temperature));
  const z = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / z);
}

/** The task trained at `step` (inverse CDF of one uniform draw from (seed, step)). */
export function drawTask(seed: number, step: number, probs: readonly number[]): number {
  const u = mulberry32(deriveSeed(seed, DRAW_SALT, step))();
  let acc = 0;
  for (let t = 0; t < probs.length - 1; t++) {
    acc += probs[t]!;
    if (u < acc) return t;
  }
  return probs.length - 1;
}

/** Task t's next batch and the sampler state after taking it. */
export function takeBatch<A>(
  state: SamplerState,
  t: number,
  train: readonly A[],
  batchSize: number,
  seed: number,
): { readonly examples: readonly A[]; readonly state: SamplerState } {
  const c = state.tasks[t];
  if (!c) throw new RangeError(`takeBatch: no task ${t} (the sampler has ${state.tasks.length})`);
  const order = epochBatches(train, batchSize, seed, c.epoch);
  const examples = order[c.cursor]!;
  const next: TaskCursor =
    c.cursor + 1 >= order.length
      ? { draws: c.draws + 1, epoch: c.epoch + 1, cursor: 0 }
      : { draws: c.draws + 1, epoch: c.epoch, cursor: c.cursor + 1 };
  return { examples, state: { tasks: state.tasks.map((x, i) => (i === t ? next : x)) } };
}
