/**
 * Adafactor (Shazeer & Stern 2018) as Hugging Face `transformers.optimization.Adafactor` with
 * `relative_step=False, warmup_init=False` — the setting prompt tuning used (Lester et al. 2021: lr 0.3,
 * β2 decay rate −0.8, parameter scaling off). Built from ops, so it runs on any backend.
 *
 * Per leaf with rank ≥ 2 the second moment is factored: a row statistic vr [..., R] (mean over the
 * last axis) and a column statistic vc [..., C] (mean over axis −2); other leaves keep a full v.
 * Slots are flat records keyed by the parameter's tree path (`slots.vr['prompt.embedding']`).
 *
 *   β2ₜ = 1 − t^decayRate;  u = g² + ε₁
 *   factored:  vr ← β2ₜ·vr + (1−β2ₜ)·mean₋₁(u);  vc ← β2ₜ·vc + (1−β2ₜ)·mean₋₂(u)
 *              û = rsqrt(vr / mean(vr))[..., :, None] · rsqrt(vc)[..., None, :] · g
 *   else:      v ← β2ₜ·v + (1−β2ₜ)·u;  û = rsqrt(v)·g
 *   û ← û / max(1, rms(û)/d);  α = lr · (scaleParameter ? max(ε₂, rms(p)) : 1);  û ← α·û
 *   β1 set:    m ← β1·m + (1−β1)·û;  û = m
 *   p ← p − λ·α·p − û
 */
import {
  add,
  div,
  expandDims,
  maximum,
  mean,
  mul,
  rsqrt,
  scope,
  sqrt,
  square,
  sub,
  Tensor,
  treeLeaves,
  treeMap,
  type ParamTree,
} from '../core/index.ts';
import { backendOfTree, decayAll, type DecayMask, type Optimizer, type OptState } from './optimizer.ts';
import { assertSameStructure } from './tree-util.ts';

export interface AdafactorOptions {
  /** ε₁ added to g² (HF eps[0]). */
  readonly eps1?: number;
  /** ε₂, the floor of the parameter scale (HF eps[1]); only used with scaleParameter. */
  readonly eps2?: number;
  /** d: updates are scaled down to RMS ≤ d. */
  readonly clipThreshold?: number;
  readonly decayRate?: number;
  /** First moment (off by default, as HF). */
  readonly beta1?: number;
  readonly weightDecay?: number;
  readonly decayMask?: DecayMask;
  /** Multiply lr by max(ε₂, rms(p)) (HF scale_parameter; off for prompt tuning). */
  readonly scaleParameter?: boolean;
}

type Slot = 'vr' | 'vc' | 'v' | 'm';
type Flat = Readonly<Record<string, Tensor>>;

const zerosOf = (like: Tensor, shape: readonly number[]) =>
  new Tensor(
    like.backend,
    like.backend.fill(
      shape.reduce((a, b) => a * b, 1),
      0,
      like.dtype,
    ),
    shape,
    like.dtype,
  );

const rms = (x: Tensor): Tensor => sqrt(mean(square(x)));

const flatGet = (slots: OptState<Slot>['slots'], slot: Slot, path: string): Tensor => {
  const t = (slots[slot] as Flat)[path];
  if (!(t instanceof Tensor)) throw new Error(`adafactor.update: state.${slot} has no entry for "${path}"`);
  return t;
};

export function adafactor(opts: AdafactorOptions = {}): Optimizer<Slot> {
  const eps1 = opts.eps1 ?? 1e-30,
    eps2 = opts.eps2 ?? 1e-3,
    clip = opts.clipThreshold ?? 1;
  const decayRate = opts.decayRate ?? -0.8,
    wd = opts.weightDecay ?? 0,
    mask = opts.decayMask ?? decayAll;
  const beta1 = opts.beta1;
  return {
    name: 'adafactor',
    init(params) {
      const vr: Record<string, Tensor> = {},
        vc: Record<string, Tensor> = {},
        v: Record<string, Tensor> = {},
        m: Record<string, Tensor> = {};
      for (const { path, leaf } of treeLeaves(params)) {
        if (leaf.rank >= 2) {
          vr[path] = zerosOf(leaf, leaf.shape.slice(0, -1));
          vc[path] = zerosOf(leaf, [...leaf.shape.slice(0, -2), leaf.shape.at(-1)!]);
        } else v[path] = zerosOf(leaf, leaf.shape);
        if (beta1 !== undefined) m[path] = zerosOf(leaf, leaf.shape);
      }
      return { step: 0, slots: { vr, vc, v, m } };
    },
    update<P extends ParamTree>(params: P, grads: P, state: OptState<Slot>, lr: number) {
      if (!Number.isFinite(lr) || lr < 0)
        throw new RangeError(`adafactor: learning rate must be a finite number ≥ 0, got ${lr}`);
      assertSameStructure(params, grads, 'adafactor.update', ['params', 'grads']);
      const step = state.step + 1;
      const beta2t = 1 - Math.pow(step, decayRate);
      const gs = new Map(treeLeaves(grads).map((l) => [l.path, l.leaf]));
      return scope(backendOfTree(params, 'adafactor.update'), () => {
        const vr: Record<string, Tensor> = {},
          vc: Record<string, Tensor> = {},
          v: Record<string, Tensor> = {},
          m: Record<string, Tensor> = {};
        const newParams = treeMap(params, (p, path) => {
          const g = gs.get(path)!;
          const u0 = add(square(g), eps1);
          let u: Tensor;
          if (p.rank >= 2) {
            const r = add(mul(flatGet(state.slots, 'vr', path), beta2t), mul(mean(u0, -1), 1 - beta2t));
            const c = add(mul(flatGet(state.slots, 'vc', path), beta2t), mul(mean(u0, -2), 1 - beta2t));
            vr[path] = r;
            vc[path] = c;
            const rFactor = expandDims(rsqrt(div(r, mean(r, -1, true))), -1);
            const cFactor = expandDims(rsqrt(c), -2);
            u = mul(mul(rFactor, cFactor), g);
          } else {
            const vv = add(mul(flatGet(state.slots, 'v', path), beta2t), mul(u0, 1 - beta2t));
            v[path] = vv;
            u = mul(rsqrt(vv), g);
          }
          u = div(u, maximum(div(rms(u), clip), 1));
          const alpha = opts.scaleParameter ? mul(maximum(rms(p), eps2), lr) : lr;
          u = mul(u, alpha);
          if (beta1 !== undefined) {
            const mm = add(mul(flatGet(state.slots, 'm', path), beta1), mul(u, 1 - beta1));
            m[path] = mm;
            u = mm;
          }
          // HF: p.add_(p, alpha=-λ·α), then p.add_(-û).
          const decayed =
            wd !== 0 && mask(path) ? add(p, mul(p, alpha instanceof Tensor ? mul(alpha, -wd) : -wd * alpha)) : p;
          return sub(decayed, u);
        });
        return { params: newParams, state: { step, slots: { vr, vc, v, m } } };
      });
    },
  };
}
