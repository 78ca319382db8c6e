/** Parameter trees: nested plain objects and arrays whose leaves are tensors. */
import type { Tensor } from '../tensor/tensor.ts';
import { isTensor } from '../tensor/tensor.ts';

/**
 * A parameter tree: a Tensor, or nested plain objects / arrays whose leaves are tensors. Typed as
 * `object` so that interface-typed trees (interfaces have no index signature) are accepted as they
 * are; the structure is walked, and non-tensor leaves ignored, at run time.
 */
export type ParamTree = object;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** Leaves in a fixed order (object keys sorted), with their paths such as `layers.0.key`. */
export function treeLeaves(tree: unknown, path = ''): { path: string; leaf: Tensor }[] {
  if (isTensor(tree)) return [{ path, leaf: tree }];
  const join = (k: string | number) => (path ? `${path}.${k}` : String(k));
  if (Array.isArray(tree)) return tree.flatMap((v, i) => treeLeaves(v, join(i)));
  if (isPlainObject(tree))
    return Object.keys(tree)
      .sort()
      .flatMap((k) => treeLeaves(tree[k], join(k)));
  return [];
}

/** Maps every tensor leaf; other values (numbers, strings, undefined) pass through unchanged. */
export function treeMap<T>(tree: T, f: (leaf: Tensor, path: string) => Tensor, path = ''): T {
  const go = (v: unknown, p: string): unknown => {
    if (isTensor(v)) return f(v, p);
    const join = (k: string | number) => (p ? `${p}.${k}` : String(k));
    if (Array.isArray(v)) return v.map((e, i) => go(e, join(i)));
    if (isPlainObject(v)) return Object.fromEntries(Object.keys(v).map((k) => [k, go(v[k], join(k))]));
    return v;
  };
  return go(tree, path) as T;
}

/**
 * Maps two trees of the same structure leaf by leaf (e.g. an optimiser update). Unconstrained `T` so
 * that interfaces (which have no index signature) are accepted as trees.
 */
export function treeMap2<T>(a: T, b: T, f: (x: Tensor, y: Tensor, path: string) => Tensor): T {
  const bs = new Map(treeLeaves(b).map(({ path, leaf }) => [path, leaf]));
  return treeMap(a, (x, p) => {
    const y = bs.get(p);
    if (!y) throw new Error(`treeMap2: the second tree has no leaf at "${p}"`);
    return f(x, y, p);
  });
}

/** Every Tensor anywhere inside a value (used by scopes to find what a function returned). */
export function tensorsIn(v: unknown, out = new Set<Tensor>()): Set<Tensor> {
  if (isTensor(v)) out.add(v);
  else if (Array.isArray(v)) for (const e of v) tensorsIn(e, out);
  else if (isPlainObject(v)) for (const e of Object.values(v)) tensorsIn(e, out);
  else if (v instanceof Map) for (const e of v.values()) tensorsIn(e, out);
  return out;
}
