/**
 * One optimiser step in three parts, so that the host reads the device once per step and never
 * synchronously (WebGPU cannot):
 * - `computeStep`: the pure part. Loss and gradients of a batch (valueAndGrad inside a scope), the
 *   optional global-norm clip, and one packed vector holding everything the host needs: the loss, the
 *   pre-clip norm, the method's loss parts and choice statistics, and a finiteness flag per leaf.
 *   Nothing is read and no state changes.
 * - `readStep`: awaits that vector (the step's single read-back) and rejects with NonFiniteError,
 *   naming the step and the tensor, before any parameter moves.
 * - `applyStep`: the optimiser update with the (clipped) gradients, then frees the step's tensors.
 */
import {
  cast,
  concat,
  keep,
  reshape,
  scope,
  treeLeaves,
  valueAndGrad,
  type Backend,
  type Tensor,
} from '../core/index.ts';
import { clipByGlobalNorm } from './clip.ts';
import { finiteFlags, nonFiniteError, type FiniteProbe } from './nan-guard.ts';
import type { Optimizer, OptState } from './optimizer.ts';
import type { Example } from './task-data.ts';
import type { LossAux, StepContext, TaskModel, TrainParams } from './task-model.ts';
import { disposeTree } from './tree-util.ts';

/** What the host learns about a step. */
export interface StepValues {
  readonly loss: number;
  /** Pre-clip global gradient norm (null without clipping). */
  readonly gradNorm: number | null;
  /** The method's loss parts (`lossTask`, `lossHead`, …) and choice statistics. */
  readonly extra: Readonly<Record<string, number | string>>;
}

/** A computed step whose values are still on the device (`P`: the differentiated parameter tree). */
export interface PendingStep<P = TrainParams> {
  readonly packed: Tensor;
  /** Named entries of `packed` before the finiteness flags, with their sizes. */
  readonly layout: readonly { readonly name: string; readonly size: number }[];
  readonly hostStats: Readonly<Record<string, number | string>>;
  readonly probe: Pick<FiniteProbe, 'paths' | 'leaves'>;
  readonly grads: P;
  /** The gradients the optimiser applies: clipped, or `grads` itself. */
  readonly update: P;
}

/** How a step's loss is built: called inside the step's scope (so the batch's tensors are freed with it). */
export type BuildLoss<P> = () => (params: P) => [Tensor, LossAux];

export interface LossStepOptions {
  /** Global-norm clip (0 = none). */
  readonly clip: number;
  /** How the NaN guard names the run (the method, and the task in a multitask run). */
  readonly method: string;
  /** The step being computed, 1-based (as logged). */
  readonly step: number;
}

const partName = (k: string) => `loss${k.charAt(0).toUpperCase()}${k.slice(1)}`;

export function computeStep(
  tm: TaskModel,
  params: TrainParams,
  examples: readonly Example[],
  ctx: StepContext,
): PendingStep {
  const build = () => {
    const b = tm.batch(examples);
    return (p: TrainParams) => tm.loss(p, b, ctx);
  };
  return computeLossStep(tm.model.bk, params, build, { clip: tm.cfg.clip, method: tm.cfg.method, step: ctx.step + 1 });
}

/** `computeStep` for any parameter tree and loss (the multitask loop's task group). */
export function computeLossStep<P>(bk: Backend, params: P, build: BuildLoss<P>, o: LossStepOptions): PendingStep<P> {
  return scope(bk, () => {
    const [[loss, aux], grads] = valueAndGrad(build(), { hasAux: true })(params);
    const clipped = o.clip > 0 ? clipByGlobalNorm(grads, o.clip) : undefined;
    const entries: [string, Tensor][] = [['loss', loss]];
    if (clipped) entries.push(['gradNorm', clipped.norm]);
    for (const [k, t] of Object.entries(aux.parts)) entries.push([partName(k), t]);
    const hostStats: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(aux.stats))
      if (typeof v === 'number' || typeof v === 'string') hostStats[k] = v;
      else entries.push([k, v]);
    const probe = finiteFlags({ method: o.method, step: o.step, loss, grads });
    const dtype = probe.flags.dtype;
    const packed = concat([...entries.map(([, t]) => reshape(cast(t, dtype), [t.size])), probe.flags], 0);
    for (const t of [packed, ...probe.leaves]) keep(t);
    for (const { leaf } of treeLeaves(clipped?.grads ?? {})) keep(leaf);
    return {
      packed,
      layout: entries.map(([name, t]) => ({ name, size: t.size })),
      hostStats,
      probe,
      grads,
      update: clipped ? clipped.grads : grads,
    };
  });
}

/** Frees a step's tensors (after `applyStep`, or when a run stops at a read-back). */
export function disposeStep<P>(p: PendingStep<P>): void {
  p.packed.dispose();
  if (p.update !== p.grads) disposeTree(p.update);
  disposeTree(p.grads);
  p.probe.leaves[0]!.dispose(); // the loss
}

/** The step's one read-back. Rejects with NonFiniteError (the step's tensors freed) on a non-finite value. */
export async function readStep<P>(p: PendingStep<P>, method: string, step: number): Promise<StepValues> {
  const values = await p.packed.data();
  let at = 0;
  const named: Record<string, number | string> = {};
  for (const { name, size } of p.layout) {
    const v = values.subarray(at, at + size);
    named[name] = size === 1 ? Number(v[0]) : Array.from(v, Number).join(' ');
    at += size;
  }
  const err = await nonFiniteError({ method, step }, p.probe, values.subarray(at));
  if (err) {
    disposeStep(p);
    throw err;
  }
  const { loss, gradNorm, ...extra } = named;
  return {
    loss: loss as number,
    gradNorm: gradNorm === undefined ? null : (gradNorm as number),
    extra: { ...extra, ...p.hostStats },
  };
}

/**
 * The optimiser update with the step's gradients; frees the step. The loop's AdamW updates `params`
 * in place, so only the new state comes back (its slots kept beyond any scope).
 */
export function applyStep<K extends string>(
  bk: Backend,
  opt: Optimizer<K>,
  params: TrainParams,
  p: PendingStep,
  state: OptState<K>,
  lr: number,
): OptState<K> {
  const next = scope(bk, () => {
    const upd = opt.update(params, p.update, state, lr);
    for (const slot of Object.values<unknown>(upd.state.slots)) for (const { leaf } of treeLeaves(slot)) keep(leaf);
    return upd.state;
  });
  disposeStep(p);
  return next;
}
