/**
 * A small local gradient checker for the losses suites (f64, CPU): per-element central differences
 * against valueAndGrad, and the adjoint identity ⟨J·t, c⟩ = ⟨t, Jᵀ·c⟩ for tensor-valued functions.
 * (A shared one lives in proofs-tests/support/; this one is deliberately tiny and self-contained.)
 */
import {
  cpuBackend,
  prngKey,
  randomNormal,
  scope,
  splitKey,
  tensor,
  treeLeaves,
  treeMap,
  valueAndGrad,
  vjp,
} from '../../core/index.ts';
import type { PRNGKey, Shape, Tensor } from '../../core/index.ts';
import fc from 'fast-check';

export const bk = cpuBackend();
export const GRAD_TOL = { f64: 1e-6, f32: 2e-3 } as const;

/** Seeded standard-normal tensor (times `std`). */
export const randn = (seed: number | PRNGKey, shape: Shape, std = 1, dtype: 'f64' | 'f32' = 'f64'): Tensor =>
  randomNormal(bk, typeof seed === 'number' ? prngKey(seed) : seed, shape, 0, std, { dtype });

export const t64 = (data: readonly number[] | readonly (readonly number[])[]): Tensor =>
  tensor(bk, data as number[], { dtype: 'f64' });

export const i32 = (data: readonly number[]): Tensor => tensor(bk, [...data], { dtype: 'i32' });

export const host = (t: Tensor): number[] => Array.from(t.dataSync());
export const item = (t: Tensor): number => t.itemSync();

export function close(a: number, b: number, tol: number = GRAD_TOL.f64): boolean {
  return Math.abs(a - b) <= tol * (1 + Math.max(Math.abs(a), Math.abs(b)));
}

/** The same tree with the leaf at `path` replaced by `leaf + eps·direction` (direction: host values). */
function nudge<P>(params: P, path: string, eps: number, direction: (i: number) => number): P {
  return treeMap(params, (t, p) => {
    if (p !== path) return t;
    const v = Float64Array.from(t.dataSync(), (x, i) => x + eps * direction(i));
    return tensor(bk, v, { shape: t.shape, dtype: 'f64' });
  });
}

/**
 * Every partial derivative of the scalar f against a central difference (step eps), in f64.
 * Throws with the leaf path, element, analytic and numeric values on the first mismatch.
 */
export function gradcheck<P>(f: (p: P) => Tensor, params: P, opts: { eps?: number; tol?: number } = {}): void {
  const eps = opts.eps ?? 1e-6,
    tol = opts.tol ?? GRAD_TOL.f64;
  scope(bk, () => {
    const [, grads] = valueAndGrad(f)(params);
    const gl = new Map(treeLeaves(grads).map(({ path, leaf }) => [path, leaf.dataSync()]));
    for (const { path, leaf } of treeLeaves(params)) {
      if (leaf.dtype !== 'f64') throw new TypeError(`gradcheck: leaf ${path} must be f64`);
      const g = gl.get(path)!;
      for (let i = 0; i < leaf.size; i++) {
        const fd = scope(bk, () => {
          const e = (j: number) => (j === i ? 1 : 0);
          return (f(nudge(params, path, eps, e)).itemSync() - f(nudge(params, path, -eps, e)).itemSync()) / (2 * eps);
        });
        if (!close(g[i]!, fd, tol)) {
          throw new Error(`gradcheck: d/d${path || 'x'}[${i}] analytic ${g[i]} vs central difference ${fd}`);
        }
      }
    }
  });
}

const dotHost = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/**
 * Adjoint identity for a tensor-valued f over a tree x: a random tangent t (one per leaf) and a random
 * cotangent c; ⟨(f(x+εt) − f(x−εt))/2ε, c⟩ must equal ⟨t, vjp(f, x)(c)⟩. Returns both sides.
 */
export function checkAdjoint<P>(
  f: (x: P) => Tensor,
  x: P,
  seed: number,
  opts: { eps?: number; tol?: number } = {},
): [number, number] {
  const eps = opts.eps ?? 1e-6,
    tol = opts.tol ?? GRAD_TOL.f64;
  return scope(bk, () => {
    const leaves = treeLeaves(x);
    const keys = splitKey(prngKey(seed), leaves.length + 1);
    const tangents = new Map(leaves.map(({ path, leaf }, i) => [path, randn(keys[i]!, leaf.shape).dataSync()]));
    const shift = (sgn: number) =>
      treeMap(x, (t, p) => {
        const d = tangents.get(p)!;
        return tensor(
          bk,
          Float64Array.from(t.dataSync(), (v, i) => v + sgn * eps * d[i]!),
          { shape: t.shape, dtype: 'f64' },
        );
      });
    const [y, pullback] = vjp(f, x);
    const c = randn(keys[leaves.length]!, y.shape);
    const yp = f(shift(1)).dataSync(),
      ym = f(shift(-1)).dataSync();
    const fd = Float64Array.from(yp, (v, i) => (v - ym[i]!) / (2 * eps));
    const lhs = dotHost(fd, c.dataSync());
    const grads = pullback(c);
    const rhs = treeLeaves(grads).reduce((s, { path, leaf }) => s + dotHost(tangents.get(path)!, leaf.dataSync()), 0);
    if (!close(lhs, rhs, tol)) throw new Error(`checkAdjoint: ⟨J·t, c⟩ ${lhs} vs ⟨t, Jᵀ·c⟩ ${rhs}`);
    return [lhs, rhs] as [number, number];
  });
}

/**
 * Exact expectations on a discrete pair: P over {0,1}² = [[.4,.1],[.1,.4]] as 10 equally weighted
 * joint samples, Q = the product of its marginals (uniform) as 4 samples, so an estimator's sample
 * means are the true expectations. KL and the JS bound 2·JSD(P‖Q) − log 4 are the targets.
 */
export const P_CELLS = [0, 0, 0, 0, 1, 2, 3, 3, 3, 3];
export const Q_CELLS = [0, 1, 2, 3];
export const p = [0.4, 0.1, 0.1, 0.4],
  q = [0.25, 0.25, 0.25, 0.25];
export const KL = p.reduce((s, pi, i) => s + pi * Math.log(pi / q[i]!), 0);
export const mid = p.map((pi, i) => (pi + q[i]!) / 2);
export const JS_BOUND =
  p.reduce((s, pi, i) => s + pi * Math.log(pi / mid[i]!) + q[i]! * Math.log(q[i]! / mid[i]!), 0) - Math.log(4);
export const samples = (table: readonly number[]) => ({
  joint: tensor(
    bk,
    P_CELLS.map((c) => table[c]!),
    { dtype: 'f64' },
  ),
  marginal: tensor(
    bk,
    Q_CELLS.map((c) => table[c]!),
    { dtype: 'f64' },
  ),
});
/** Random critic tables over the 4 cells. */
export const table4 = fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: 4, maxLength: 4 });
