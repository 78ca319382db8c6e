/**
 * The functional API: valueAndGrad / grad over parameter trees, vjp, stopGradient, and `scope`.
 * A fresh tape lives only for one call; nothing global records anything.
 */
import type { Backend } from '../backend/backend.ts';
import { isFloat } from '../tensor/dtype.ts';
import { fmt } from '../tensor/shape.ts';
import { isTensor, Tensor, type AnyTensor } from '../tensor/tensor.ts';
import { Tape, untraced } from './tape.ts';
import { tensorsIn, treeLeaves, treeMap } from './tree.ts';

/**
 * Runs `fn`; tensors it creates on `bk` are disposed at the end unless returned (they then belong to
 * the enclosing scope) or `keep`-ed.
 */
export function scope<R>(bk: Backend, fn: () => R): R {
  bk.scopes.begin();
  let result: R | undefined;
  try {
    result = fn();
    return result;
  } finally {
    bk.scopes.end(result === undefined ? new Set() : tensorsIn(result));
  }
}

/** Exempts a tensor from every open scope (parameters, optimiser state). */
export const keep = <T extends AnyTensor>(t: T): T => t.backend.scopes.keep(t);

/** The same values with no trace: gradients do not flow through the result. */
export const stopGradient = (x: Tensor): Tensor => untraced(x);

export interface GradOptions {
  /** Which positional arguments to differentiate (default 0). */
  readonly argnums?: number | readonly number[];
  /** `f` returns [loss, aux]; aux comes back untraced. */
  readonly hasAux?: boolean;
}

type Fn = (...args: never[]) => unknown;

function checkScalar(v: unknown): Tensor {
  if (!isTensor(v))
    throw new TypeError('valueAndGrad: the function must return a scalar Tensor (or [Tensor, aux] with hasAux)');
  if (v.size !== 1 || !isFloat(v.dtype)) {
    throw new TypeError(
      `valueAndGrad: the function returned ${fmt(v.shape)} ${v.dtype}; it must return a float tensor with one element`,
    );
  }
  return v;
}

function runTraced(f: Fn, args: unknown[], opts: GradOptions) {
  const nums = typeof opts.argnums === 'number' ? [opts.argnums] : [...(opts.argnums ?? [0])];
  const leaves = nums.flatMap((i) => treeLeaves(args[i]).map((l) => l.leaf));
  const first = leaves[0];
  if (!first) throw new TypeError(`valueAndGrad: argument(s) ${nums.join(', ')} contain no tensors to differentiate`);
  for (const l of leaves) {
    if (!isFloat(l.dtype))
      throw new TypeError(`valueAndGrad: cannot differentiate a ${l.dtype} tensor ${fmt(l.shape)}`);
  }
  return scope(first.backend, () => {
    const tape = new Tape();
    const traced = args.map((a, i) => (nums.includes(i) ? treeMap(a, (t) => tape.leaf(t)) : a));
    const result = (f as (...a: unknown[]) => unknown)(...traced);
    const [rawValue, aux] = opts.hasAux ? (result as [unknown, unknown]) : [result, undefined];
    const value = checkScalar(rawValue);
    tape.close();
    const ct = new Tensor(value.backend, value.backend.fill(value.size, 1, value.dtype), value.shape, value.dtype);
    const gmap = tape.backward(value, ct);
    // One tensor object per gradient leaf, even where a rule handed the same cotangent to two leaves,
    // so that disposing one gradient never invalidates another.
    const used = new Set<Tensor>();
    const grads = nums.map((i) =>
      treeMap(traced[i], (t) => {
        const g = t.trace ? gmap.get(t.trace.key) : undefined;
        if (!g) return new Tensor(t.backend, t.backend.fill(t.size, 0, t.dtype), t.shape, t.dtype);
        const own = used.has(g) || g === ct ? untraced(g) : g;
        used.add(own);
        return own;
      }),
    );
    return { value: untraced(value), aux: treeMap(aux, untraced), grads, many: Array.isArray(opts.argnums) };
  });
}

/** f(params, ...rest) → scalar; returns [value, grads] with grads shaped like params. */
export function valueAndGrad<P, R extends unknown[]>(
  f: (params: P, ...rest: R) => Tensor,
  opts?: GradOptions & { hasAux?: false },
): (params: P, ...rest: R) => [Tensor, P];
export function valueAndGrad<P, R extends unknown[], A>(
  f: (params: P, ...rest: R) => [Tensor, A],
  opts: GradOptions & { hasAux: true },
): (params: P, ...rest: R) => [[Tensor, A], P];
export function valueAndGrad(f: Fn, opts: GradOptions = {}) {
  return (...args: unknown[]) => {
    const r = runTraced(f, args, opts);
    const grads = r.many ? r.grads : r.grads[0];
    return opts.hasAux ? [[r.value, r.aux], grads] : [r.value, grads];
  };
}

/** Gradient only (the value is discarded). */
export function grad<P, R extends unknown[]>(
  f: (params: P, ...rest: R) => Tensor,
  opts: Omit<GradOptions, 'hasAux'> = {},
): (params: P, ...rest: R) => P {
  return (params: P, ...rest: R) => {
    const [value, g] = valueAndGrad(f, opts)(params, ...rest);
    value.dispose();
    return g;
  };
}

/**
 * y = f(x) and the pullback ct ↦ ctᵀ·∂f/∂x for a tensor-valued f. The recorded trace stays alive as
 * long as the tensors f created do (wrap the call and the pullbacks in `scope`).
 */
export function vjp<P>(f: (x: P) => Tensor, x: P): [Tensor, (cotangent: Tensor) => P] {
  const leaves = treeLeaves(x);
  if (leaves.length === 0) throw new TypeError('vjp: the primal contains no tensors');
  const tape = new Tape();
  const traced = treeMap(x, (t) => tape.leaf(t));
  const y = f(traced);
  tape.close();
  const pullback = (ct: Tensor): P => {
    if (ct.shape.length !== y.shape.length || ct.shape.some((d, i) => d !== y.shape[i])) {
      throw new Error(`vjp: cotangent ${fmt(ct.shape)} does not match the output ${fmt(y.shape)}`);
    }
    if (ct.dtype !== y.dtype) throw new TypeError(`vjp: cotangent is ${ct.dtype}, the output is ${y.dtype}`);
    const gmap = tape.backward(y, ct);
    const used = new Set<Tensor>([ct]);
    return treeMap(traced, (t) => {
      const g = t.trace ? gmap.get(t.trace.key) : undefined;
      if (!g) return new Tensor(t.backend, t.backend.fill(t.size, 0, t.dtype), t.shape, t.dtype);
      // never hand back the caller's cotangent (or one tensor twice): disposing one would free the other
      const own = used.has(g) ? untraced(g) : g;
      used.add(own);
      return own;
    });
  };
  return [untraced(y), pullback];
}
