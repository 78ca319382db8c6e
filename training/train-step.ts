/**
 * One optimiser step in three parts, so that the host reads the device once per step and never
 * synchronously (WebGPU cannot):
 * - `computeStep`: the pure part. Loss and gradients of a batch, or of several micro-batches averaged by
 *   examples (gradient accumulation; valueAndGrad inside a scope per micro-batch), the optional
 *   global-norm clip of the sum, and one packed vector holding everything the host needs: the loss, the
 *   pre-clip norm, the method's loss parts and choice statistics, and a finiteness flag per leaf.
 *   Nothing is read and no state changes.
 * - `readStep`: awaits that vector (the step's single read-back) and rejects with NonFiniteError,
 *   naming the step and the tensor, before any parameter moves.
 * - `applyStep`: the optimiser update with the (clipped) gradients, then frees the step's tensors.
 */
import {
  add,
  cast,
  concat,
  foldIn,
  keep,
  mul,
  reshape,
  scope,
  treeLeaves,
  treeMap,
  treeMap2,
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

/** One micro-batch's loss, loss parts, device statistics and gradients (its activations already freed). */
interface MicroResult<P> {
  readonly loss: Tensor;
  readonly parts: Readonly<Record<string, Tensor>>;
  readonly stats: Readonly<Record<string, Tensor>>;
  readonly hostStats: Readonly<Record<string, number | string>>;
  readonly grads: P;
}

function microStep<P>(bk: Backend, params: P, build: BuildLoss<P>): MicroResult<P> {
  return scope(bk, () => {
    const [[loss, aux], grads] = valueAndGrad(build(), { hasAux: true })(params);
    const stats: Record<string, Tensor> = {};
    const hostStats: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(aux.stats))
      if (typeof v === 'number' || typeof v === 'string') hostStats[k] = v;
      else stats[k] = v;
    return { loss, parts: aux.parts, stats, hostStats, grads };
  });
}

/** Statistics that count (histograms, named `…Hist`) add up over micro-batches; the others are means. */
const isCount = (stat: string) => stat.endsWith('Hist');

/**
 * The micro-batches' results as one batch's: losses, loss parts, mean statistics and gradients weighted
 * by each micro-batch's share of the examples (so equal micro-batches average, as the mean loss over
 * all their examples requires); counting statistics summed. One micro-batch passes through unchanged.
 */
function combine<P>(micro: readonly MicroResult<P>[], sizes: readonly number[]): MicroResult<P> {
  if (micro.length === 1) return micro[0]!;
  const total = sizes.reduce((a, b) => a + b, 0);
  const w = sizes.map((n) => n / total);
  const wsum = (ts: readonly Tensor[]) => ts.map((t, i) => mul(t, w[i]!)).reduce((a, b) => add(a, b));
  const first = micro[0]!;
  const pick = <V>(name: string, get: (m: MicroResult<P>) => V | undefined): V[] =>
    micro.map((m, i) => {
      const v = get(m);
      if (v === undefined) throw new Error(`gradient accumulation: micro-batch ${i} has no ${name}`);
      return v;
    });
  return {
    loss: wsum(micro.map((m) => m.loss)),
    parts: Object.fromEntries(Object.keys(first.parts).map((k) => [k, wsum(pick(k, (m) => m.parts[k]))])),
    stats: Object.fromEntries(
      Object.keys(first.stats).map((k) => {
        const ts = pick(k, (m) => m.stats[k]);
        return [k, isCount(k) ? ts.reduce((a, b) => add(a, b)) : wsum(ts)];
      }),
    ),
    hostStats: micro.at(-1)!.hostStats,
    grads: micro.slice(1).reduce(
      (acc, m, i) => treeMap2(acc, m.grads, (a, g) => add(a, mul(g, w[i + 1]!))),
      treeMap(first.grads, (g) => mul(g, w[0]!)),
    ),
  };
}

/**
 * The pure part of a step over one batch, or over several micro-batches whose gradients accumulate
 * before the one update (`--grad-accum`): micro-batch i draws its dropout and sampling noise from
 * foldIn(key, i) for i ≥ 1 and from the step's key itself for i = 0, so a step of one batch is what it
 * always was. Each micro-batch's activations are freed before the next one runs.
 */
export function computeStep(
  tm: TaskModel,
  params: TrainParams,
  microBatches: readonly (readonly Example[])[],
  ctx: StepContext,
): PendingStep {
  if (microBatches.length === 0) throw new RangeError('computeStep: no batch to train on');
  const builds = microBatches.map((examples, i) => () => {
    const b = tm.batch(examples);
    const c = i === 0 ? ctx : { ...ctx, key: foldIn(ctx.key, i) };
    return (p: TrainParams) => tm.loss(p, b, c);
  });
  return computeLossStep(
    tm.model.bk,
    params,
    builds,
    { clip: tm.cfg.clip, method: tm.cfg.method, step: ctx.step + 1 },
    microBatches.map((ex) => ex.length),
  );
}

/**
 * `computeStep` for any parameter tree and loss (the multitask loop's task group): one loss, or the
 * losses of micro-batches of `sizes` examples (default equal) whose gradients accumulate.
 */
export function computeLossStep<P>(
  bk: Backend,
  params: P,
  build: BuildLoss<P> | readonly BuildLoss<P>[],
  o: LossStepOptions,
  sizes?: readonly number[],
): PendingStep<P> {
  const builds = typeof build === 'function' ? [build] : build;
  return scope(bk, () => {
    const micro = builds.map((b) => microStep(bk, params, b));
    const { loss, parts, stats, hostStats, grads } = combine(micro, sizes ?? builds.map(() => 1));
    const clipped = o.clip > 0 ? clipByGlobalNorm(grads, o.clip) : undefined;
    const entries: [string, Tensor][] = [['loss', loss]];
    if (clipped) entries.push(['gradNorm', clipped.norm]);
    for (const [k, t] of Object.entries(parts)) entries.push([partName(k), t]);
    for (const [k, t] of Object.entries(stats)) entries.push([k, t]);
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
