/**
 * checkVjp (jax `check_vjp` in spirit, f64 on the CPU reference backend):
 *  1. random direction: ⟨(f(x+εt) − f(x−εt))/2ε, c⟩ vs ⟨t, Jᵀc⟩ for a random tangent t and cotangent c;
 *  2. full per-element central differences of ⟨f, c⟩ when the inputs hold ≤ `fullLimit` elements,
 *     which pins a wrong entry to its leaf and index;
 *  3. the adjoint identity ⟨J·v, u⟩ = ⟨v, Jᵀ·u⟩ with J·v from finite differences (there is no forward
 *     mode) and Jᵀ·u from a second call of the same pullback.
 * Also checks that vjp's primal output equals f(x) and that every gradient has its input's shape/dtype.
 * Failures throw an Error with the shapes, (truncated) inputs, the direction and the two numbers.
 */
import {
  normalArray,
  prngKey,
  scope,
  splitKey,
  tensor,
  treeLeaves,
  treeMap,
  vjp,
  type ParamTree,
  type PRNGKey,
  type Tensor,
} from '../../core/index.ts';
import { scalarClose, type Tol } from './close.ts';

export const GRAD_TOL = {
  f64: { atol: 1e-5, rtol: 1e-5 },
  f32: { atol: 2e-3, rtol: 2e-3 },
} as const satisfies Record<string, Tol>;

export interface CheckVjpOptions {
  /** Seed of the random tangent / cotangent draws (default 1234). */
  readonly seed?: number;
  /** Base step; the step used is eps·max(1, max|x|) (default 1e-6). */
  readonly eps?: number;
  readonly tol?: Tol;
  /** Full per-element differences when the inputs hold at most this many elements (default 64). */
  readonly fullLimit?: number;
  readonly label?: string;
}

interface Evaluated {
  readonly data: Float64Array;
  readonly shape: readonly number[];
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

export function truncated(a: ArrayLike<number>, n = 12): string {
  const head = Array.from({ length: Math.min(n, a.length) }, (_, i) => Number(a[i]!.toPrecision(6)));
  return `[${head.join(', ')}${a.length > n ? `, … (${a.length} values)` : ''}]`;
}

export function checkVjp<const P extends ParamTree>(f: (xs: P) => Tensor, inputs: P, opts: CheckVjpOptions = {}): void {
  const leaves = treeLeaves(inputs);
  const first = leaves[0];
  if (!first) throw new Error('checkVjp: the inputs contain no tensors');
  for (const { path, leaf } of leaves) {
    if (leaf.dtype !== 'f64')
      throw new Error(`checkVjp: input ${path || '(root)'} is ${leaf.dtype}; finite differences need f64`);
  }
  const bk = first.leaf.backend;
  const label = opts.label ? `checkVjp(${opts.label})` : 'checkVjp';
  const tol = opts.tol ?? GRAD_TOL.f64;
  const xs = leaves.map((l) => Float64Array.from(l.leaf.dataSync()));
  const index = new Map(leaves.map((l, i) => [l.path, i]));
  const maxAbs = xs.reduce((m, a) => a.reduce((mm, v) => Math.max(mm, Math.abs(v)), m), 0);
  const h = (opts.eps ?? 1e-6) * Math.max(1, maxAbs);

  const build = (vals: readonly Float64Array[]): P =>
    treeMap(inputs, (t, path) => tensor(bk, vals[index.get(path)!]!, { shape: t.shape, dtype: 'f64' }));
  const evalF = (vals: readonly Float64Array[]): Evaluated =>
    scope(bk, () => {
      const y = f(build(vals));
      if (y.dtype !== 'f64') throw new Error(`${label}: f returned ${y.dtype} ${fmtShape(y.shape)}; expected f64`);
      return { data: Float64Array.from(y.dataSync()), shape: [...y.shape] };
    });
  const shifted = (dir: readonly Float64Array[], s: number) => xs.map((x, i) => x.map((v, j) => v + s * dir[i]![j]!));
  const jvpFd = (dir: readonly Float64Array[]): Float64Array => {
    const p = evalF(shifted(dir, h)).data,
      m = evalF(shifted(dir, -h)).data;
    return p.map((v, i) => (v - m[i]!) / (2 * h));
  };

  const y0 = evalF(xs);
  const [kc, kt, ku, kv] = splitKey(prngKey(opts.seed ?? 1234), 4) as [PRNGKey, PRNGKey, PRNGKey, PRNGKey];
  const c = normalArray(kc, y0.data.length),
    u = normalArray(ku, y0.data.length);
  const draw = (k: PRNGKey) => splitKey(k, xs.length).map((ki, i) => normalArray(ki, xs[i]!.length));
  const t = draw(kt),
    v = draw(kv);

  const describe = (what: string, a: number, b: number, dir?: readonly Float64Array[]): Error => {
    const ins = leaves.map((l, i) => `  ${l.path || 'x'} ${fmtShape(l.leaf.shape)}: ${truncated(xs[i]!)}`).join('\n');
    const d = dir
      ? `\n direction:\n${dir.map((a2, i) => `  ${leaves[i]!.path || 'x'}: ${truncated(a2)}`).join('\n')}`
      : '';
    return new Error(
      `${label}: ${what}: finite differences ${a} vs vjp ${b} (|diff| ${Math.abs(a - b).toExponential(3)}, ` +
        `atol ${tol.atol}, rtol ${tol.rtol}, step ${h})\n output ${fmtShape(y0.shape)}\n inputs:\n${ins}${d}`,
    );
  };

  // Jᵀc and Jᵀu from one recorded trace (the pullback is called twice).
  const [gc, gu] = scope(bk, () => {
    const [y, pullback] = vjp(f, inputs);
    const yv = y.dataSync();
    for (let i = 0; i < yv.length; i++) {
      if (
        !scalarClose(yv[i]!, y0.data[i]!, { atol: 1e-12, rtol: 1e-12 }) &&
        !(Number.isNaN(yv[i]!) && Number.isNaN(y0.data[i]!))
      ) {
        throw describe(`vjp's primal output differs from f(x) at [${i}]`, y0.data[i]!, yv[i]!);
      }
    }
    const read = (ct: Float64Array): Float64Array[] => {
      const g = pullback(tensor(bk, ct, { shape: y0.shape, dtype: 'f64' }));
      return treeLeaves(g).map(({ path, leaf }, i) => {
        const x = leaves[i]!.leaf;
        if (path !== leaves[i]!.path || leaf.dtype !== 'f64' || fmtShape(leaf.shape) !== fmtShape(x.shape)) {
          throw new Error(
            `${label}: gradient ${path} is ${leaf.dtype} ${fmtShape(leaf.shape)}; input is ${x.dtype} ${fmtShape(x.shape)}`,
          );
        }
        return Float64Array.from(leaf.dataSync());
      });
    };
    return [read(c), read(u)] as const;
  });

  // 1. one random direction
  const fd1 = dot(jvpFd(t), c);
  const an1 = gc.reduce((s, g, i) => s + dot(g, t[i]!), 0);
  if (!scalarClose(fd1, an1, tol)) throw describe('⟨J·t, c⟩ vs ⟨t, Jᵀc⟩ along a random direction t', fd1, an1, t);

  // 2. every element, for small inputs
  const total = xs.reduce((s, x) => s + x.length, 0);
  if (total <= (opts.fullLimit ?? 64)) {
    xs.forEach((x, i) => {
      for (let j = 0; j < x.length; j++) {
        const e = xs.map((a, k) => {
          const z = new Float64Array(a.length);
          if (k === i) z[j] = 1;
          return z;
        });
        const fd = dot(jvpFd(e), c);
        const an = gc[i]![j]!;
        if (!scalarClose(fd, an, tol)) throw describe(`∂⟨f, c⟩/∂${leaves[i]!.path || 'x'}[${j}]`, fd, an, e);
      }
    });
  }

  // 3. adjoint identity with independent draws
  const fd3 = dot(jvpFd(v), u);
  const an3 = gu.reduce((s, g, i) => s + dot(g, v[i]!), 0);
  if (!scalarClose(fd3, an3, tol)) throw describe('adjoint identity ⟨J·v, u⟩ = ⟨v, Jᵀu⟩', fd3, an3, v);
}
