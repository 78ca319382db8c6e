/** Small helpers over parameter trees that the optimisers and checkpoints share. */
import { Tensor, treeLeaves, treeMap, type ParamTree } from '../core/index.ts';

/** Row-major strides of a contiguous tensor. */
const contiguousStrides = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
};

/** A fresh storage holding a copy of `t` (a backend-side copy: no host round trip, no trace). */
export const cloneTensor = (t: Tensor): Tensor =>
  new Tensor(t.backend, t.backend.strided(t, t.shape, contiguousStrides(t.shape), 0), t.shape, t.dtype);

export const cloneTree = <T>(tree: T): T => treeMap(tree, cloneTensor);

/** Disposes every tensor leaf (optimiser state or parameters that were replaced). */
export function disposeTree(tree: unknown): void {
  for (const { leaf } of treeLeaves(tree)) leaf.dispose();
}

export const zerosLikeTree = <T extends ParamTree>(tree: T): T =>
  treeMap(tree, (t) => new Tensor(t.backend, t.backend.fill(t.size, 0, t.dtype), t.shape, t.dtype));

/** Leaves of `tree` by path, failing with the path when `other` lacks one or has another shape. */
export function leafMap(tree: unknown, what: string): Map<string, Tensor> {
  const m = new Map<string, Tensor>();
  for (const { path, leaf } of treeLeaves(tree)) m.set(path, leaf);
  if (m.size === 0) throw new Error(`${what}: the tree has no tensor leaves`);
  return m;
}

export const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Throws unless `a` and `b` have the same leaves with the same shapes and dtypes. */
export function assertSameStructure(a: unknown, b: unknown, what: string, names: readonly [string, string]): void {
  const ma = leafMap(a, what),
    mb = leafMap(b, what);
  for (const [p, x] of ma) {
    const y = mb.get(p);
    if (!y) throw new Error(`${what}: ${names[1]} has no leaf "${p}" (present in ${names[0]})`);
    if (x.dtype !== y.dtype || x.shape.length !== y.shape.length || x.shape.some((d, i) => d !== y.shape[i])) {
      throw new Error(
        `${what}: leaf "${p}" is ${fmtShape(x.shape)} ${x.dtype} in ${names[0]} but ${fmtShape(y.shape)} ${y.dtype} in ${names[1]}`,
      );
    }
  }
  for (const p of mb.keys())
    if (!ma.has(p)) throw new Error(`${what}: ${names[0]} has no leaf "${p}" (present in ${names[1]})`);
}
