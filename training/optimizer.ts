/**
 * Optimisers over parameter trees with functional state `{ step, slots }` (one tree per slot: AdamW's
 * `m` and `v`, SGD's `momentum`, Adafactor's factored moments). `update` returns new trees:
 *
 * - Default: inputs are left untouched and fresh tensors come back; the caller disposes what it no
 *   longer needs (`disposeTree(old.params)`, `disposeTree(old.state.slots)`).
 * - `adamw({ inPlace: true })`: the fused `backend.adamw` kernel writes into the given param, m and v
 *   storages, and the returned trees are those same tensor objects. Saves a copy per step; the old
 *   values are gone, so do not keep references to them.
 *
 * `lr` is passed to every `update` (from a schedule, see schedule.ts). `state.step` counts completed
 * updates; AdamW's bias correction uses `state.step + 1`.
 */
import type { Tensor } from '../core/index.ts';
import { add, mul, scope, treeLeaves, treeMap, type ParamTree } from '../core/index.ts';
import { assertSameStructure, cloneTensor, zerosLikeTree } from './tree-util.ts';

export interface OptState<K extends string = string> {
  /** Number of updates applied so far. */
  readonly step: number;
  readonly slots: { readonly [S in K]: ParamTree };
}

export interface UpdateResult<P, K extends string> {
  readonly params: P;
  readonly state: OptState<K>;
}

export interface Optimizer<K extends string = string> {
  readonly name: string;
  init(params: ParamTree): OptState<K>;
  update<P extends ParamTree>(params: P, grads: P, state: OptState<K>, lr: number): UpdateResult<P, K>;
}

/** Which leaves get weight decay, by tree path (`true` = decay). */
export type DecayMask = (path: string) => boolean;

export const decayAll: DecayMask = () => true;

/**
 * The usual Hugging Face grouping (`no_decay = ["bias", "LayerNorm.weight"]`), matched by path
 * segment: no decay on biases and on LayerNorm / layer_norm weights.
 */
export const noDecayOnBiasAndNorm: DecayMask = (path) =>
  !path
    .split('.')
    .some((seg) => seg === 'bias' || seg.endsWith('_bias') || /^(layer_?norm|ln(_\w+)?|norm)$/i.test(seg));

export interface AdamWOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Decoupled weight decay λ: p ← p·(1 − lr·λ) before the Adam step (torch.optim.AdamW). */
  readonly weightDecay?: number;
  readonly decayMask?: DecayMask;
  /** Update param, m and v storages in place (see the module comment). */
  readonly inPlace?: boolean;
}

/** The first leaf's backend (every leaf of a tree lives on one backend). */
export function backendOfTree(tree: unknown, what: string) {
  const first = treeLeaves(tree)[0];
  if (!first) throw new Error(`${what}: the parameter tree has no tensor leaves`);
  return first.leaf.backend;
}

function checkLr(name: string, lr: number): void {
  if (!Number.isFinite(lr) || lr < 0)
    throw new RangeError(`${name}: learning rate must be a finite number ≥ 0, got ${lr}`);
}

/** torch.optim.AdamW (amsgrad off) through the fused `backend.adamw` kernel. Defaults as torch. */
export function adamw(opts: AdamWOptions = {}): Optimizer<'m' | 'v'> {
  const beta1 = opts.beta1 ?? 0.9,
    beta2 = opts.beta2 ?? 0.999,
    eps = opts.eps ?? 1e-8;
  const wd = opts.weightDecay ?? 0.01,
    mask = opts.decayMask ?? decayAll;
  return {
    name: 'adamw',
    init: (params) => ({ step: 0, slots: { m: zerosLikeTree(params), v: zerosLikeTree(params) } }),
    update(params, grads, state, lr) {
      checkLr('adamw', lr);
      assertSameStructure(params, grads, 'adamw.update', ['params', 'grads']);
      assertSameStructure(params, state.slots.m, 'adamw.update', ['params', 'state.m']);
      const step = state.step + 1;
      const gs = new Map(treeLeaves(grads).map((l) => [l.path, l.leaf]));
      const ms = new Map(treeLeaves(state.slots.m).map((l) => [l.path, l.leaf]));
      const vs = new Map(treeLeaves(state.slots.v).map((l) => [l.path, l.leaf]));
      const own = (t: Tensor) => (opts.inPlace ? t : cloneTensor(t));
      const newM = new Map<string, Tensor>(),
        newV = new Map<string, Tensor>();
      const newParams = treeMap(params, (p, path) => {
        const g = gs.get(path)!,
          m = own(ms.get(path)!),
          v = own(vs.get(path)!),
          q = own(p);
        if (g.dtype !== p.dtype) throw new TypeError(`adamw: grad "${path}" is ${g.dtype}, param is ${p.dtype}`);
        p.backend.adamw(q, g, m, v, { lr, beta1, beta2, eps, weightDecay: mask(path) ? wd : 0, step });
        newM.set(path, m);
        newV.set(path, v);
        return q;
      });
      const m = treeMap(state.slots.m, (_t, path) => newM.get(path)!);
      const v = treeMap(state.slots.v, (_t, path) => newV.get(path)!);
      return { params: newParams, state: { step, slots: { m, v } } };
    },
  };
}

export interface SgdOptions {
  /** Heavy-ball momentum μ (0 = plain SGD, no state). */
  readonly momentum?: number;
  readonly dampening?: number;
  readonly nesterov?: boolean;
  /** Coupled L2 (torch.optim.SGD): g ← g + λ·p. */
  readonly weightDecay?: number;
  readonly decayMask?: DecayMask;
}

/** torch.optim.SGD semantics; built from ops (always returns new tensors). */
export function sgd(opts: SgdOptions = {}): Optimizer<'momentum'> {
  const mu = opts.momentum ?? 0,
    damp = opts.dampening ?? 0,
    wd = opts.weightDecay ?? 0;
  const mask = opts.decayMask ?? decayAll;
  if (opts.nesterov && (mu <= 0 || damp !== 0))
    throw new RangeError('sgd: nesterov needs momentum > 0 and dampening 0');
  return {
    name: 'sgd',
    init: (params) => ({ step: 0, slots: { momentum: mu === 0 ? {} : zerosLikeTree(params) } }),
    update(params, grads, state, lr) {
      checkLr('sgd', lr);
      assertSameStructure(params, grads, 'sgd.update', ['params', 'grads']);
      const gs = new Map(treeLeaves(grads).map((l) => [l.path, l.leaf]));
      const bufs = new Map(treeLeaves(state.slots.momentum).map((l) => [l.path, l.leaf]));
      return scope(backendOfTree(params, 'sgd.update'), () => {
        const newBufs = new Map<string, Tensor>();
        const newParams = treeMap(params, (p, path) => {
          let d = gs.get(path)!;
          if (wd !== 0 && mask(path)) d = add(d, mul(p, wd));
          if (mu !== 0) {
            const prev = bufs.get(path);
            if (!prev) throw new Error(`sgd.update: state.momentum has no leaf "${path}"`);
            const buf = state.step === 0 ? cloneTensor(d) : add(mul(prev, mu), mul(d, 1 - damp));
            newBufs.set(path, buf);
            d = opts.nesterov ? add(d, mul(buf, mu)) : buf;
          }
          return add(p, mul(d, -lr));
        });
        const momentum = mu === 0 ? {} : treeMap(state.slots.momentum, (_t, path) => newBufs.get(path)!);
        return { params: newParams, state: { step: state.step + 1, slots: { momentum } } };
      });
    },
  };
}
