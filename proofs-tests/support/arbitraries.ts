/**
 * fast-check arbitraries for op property tests: shapes (rank 0–4, dims 1–5, size-1 axes included),
 * broadcastable shape tuples, f64 tensor values in [low, high] that keep away from non-differentiable
 * points (`avoid`) or ties (`distinct`, `lattice`), axis subsets and seeds. Arbitraries produce plain
 * data (`TensorSpec`); tests turn it into tensors inside a `scope` with `toTensor`.
 */
import fc from 'fast-check';
import { scope, tensor, type Backend, type Tensor } from '../../core/index.ts';

/** Runs per property (STYLE: small, seeded; fast-check prints the seed on failure). */
export const RUNS = { numRuns: 40 } as const;

export interface TensorSpec {
  readonly shape: readonly number[];
  readonly values: Float64Array;
}

export interface ShapeOpts {
  readonly minRank?: number;
  readonly maxRank?: number;
  readonly maxDim?: number;
  /** Largest dims are cut down until the element count is at most this (default 256). */
  readonly maxSize?: number;
}

export interface ValueOpts {
  readonly low?: number;
  readonly high?: number;
  /** Points to keep `margin` away from (0 for abs/relu/sign/log/sqrt…). */
  readonly avoid?: readonly number[];
  readonly margin?: number;
  /** All values pairwise ≥ 0.5·(high−low)/n apart (no ties for max/min/argmax). */
  readonly distinct?: boolean;
  /**
   * Values are k + lattice + 0.1·frac for integers k in [low, high): two tensors with lattices 0.25 and
   * 0.75 never come within 0.3 of each other (no ties for maximum/minimum between operands).
   */
  readonly lattice?: number;
}

const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export const seedArb = fc.integer({ min: 0, max: 0x7fffffff });

export function shapeArb(o: ShapeOpts = {}): fc.Arbitrary<number[]> {
  const maxSize = o.maxSize ?? 256;
  return fc
    .array(fc.integer({ min: 1, max: o.maxDim ?? 5 }), { minLength: o.minRank ?? 0, maxLength: o.maxRank ?? 4 })
    .map((s) => {
      const out = [...s];
      while (sizeOf(out) > maxSize) {
        const i = out.indexOf(Math.max(...out));
        out[i] = Math.max(1, Math.floor(out[i]! / 2));
      }
      return out;
    });
}

function shapeValues(u: readonly number[], o: ValueOpts): Float64Array {
  const low = o.low ?? -3,
    high = o.high ?? 3,
    n = u.length;
  if (o.lattice !== undefined) {
    const span = Math.max(1, Math.floor(high - low));
    return Float64Array.from(
      u,
      (x) => Math.floor(low) + Math.min(span - 1, Math.floor(x * span)) + o.lattice! + 0.1 * ((x * 977) % 1),
    );
  }
  if (o.distinct) {
    const order = u.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const out = new Float64Array(n);
    order.forEach(([x, i], rank) => {
      out[i] = low + ((high - low) * (rank + 0.25 + 0.5 * ((x * 613) % 1))) / n;
    });
    return out;
  }
  const margin = o.margin ?? 0.1;
  return Float64Array.from(u, (x) => {
    let v = low + (high - low) * x;
    for (const p of o.avoid ?? []) if (Math.abs(v - p) < margin) v = v >= p ? p + margin : p - margin;
    return v;
  });
}

/** Values for a fixed shape. */
export function valuesArb(shape: readonly number[], o: ValueOpts = {}): fc.Arbitrary<TensorSpec> {
  const n = sizeOf(shape);
  return fc
    .array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { minLength: n, maxLength: n })
    .map((u) => ({ shape: [...shape], values: shapeValues(u, o) }));
}

/** A tensor of generated shape and values. */
export const tensorArb = (o: ShapeOpts & ValueOpts = {}): fc.Arbitrary<TensorSpec> =>
  shapeArb(o).chain((s) => valuesArb(s, o));

/**
 * `n` shapes that broadcast together: from one result shape, each operand drops some leading axes and
 * sets some others to 1, so either operand (or both) may be the one that is broadcast.
 */
export function broadcastShapesArb(n: number, o: ShapeOpts = {}): fc.Arbitrary<number[][]> {
  const rank = o.maxRank ?? 4;
  const edit = fc.tuple(
    fc.integer({ min: 0, max: rank }),
    fc.array(fc.boolean(), { minLength: rank, maxLength: rank }),
  );
  return fc
    .tuple(shapeArb(o), fc.array(edit, { minLength: n, maxLength: n }))
    .map(([out, edits]) =>
      edits.map(([drop, ones]) => out.slice(Math.min(drop, out.length)).map((d, i) => (ones[i] ? 1 : d))),
    );
}

/** `n` broadcast-compatible tensors; `vals[i]` sets each operand's value options. */
export function broadcastTensorsArb(
  n: number,
  o: ShapeOpts = {},
  vals: readonly ValueOpts[] = [],
): fc.Arbitrary<TensorSpec[]> {
  return broadcastShapesArb(n, o).chain((shapes) => fc.tuple(...shapes.map((s, i) => valuesArb(s, vals[i] ?? {}))));
}

/** A subset of the axes of a rank-r tensor (possibly empty), or undefined for "all axes". */
export const axesArb = (rank: number): fc.Arbitrary<number[] | undefined> =>
  fc.option(
    fc.subarray(Array.from({ length: rank }, (_, i) => i)).chain((ax) =>
      fc.constantFrom(
        ax,
        ax.map((a) => a - rank),
      ),
    ),
    { nil: undefined, freq: 5 },
  );

/** One valid axis of a rank-r tensor (r ≥ 1), positive or negative. */
export const axisArb = (rank: number): fc.Arbitrary<number> =>
  fc.integer({ min: 0, max: rank - 1 }).chain((a) => fc.constantFrom(a, a - rank));

export const toTensor = (bk: Backend, s: TensorSpec): Tensor => tensor(bk, s.values, { shape: s.shape, dtype: 'f64' });

/** Integer labels / indices in [0, n) as an i32 tensor of `shape`. */
export const indicesArb = (shape: readonly number[], n: number): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 0, max: n - 1 }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) });

/** fc.assert of `body` over `arb`, each run inside a `scope` so its tensors are freed. */
export function forAll<T>(
  bk: Backend,
  arb: fc.Arbitrary<T>,
  body: (v: T) => void,
  params: fc.Parameters<[T]> = RUNS,
): void {
  fc.assert(
    fc.property(arb, (v) => {
      scope(bk, () => body(v));
    }),
    params,
  );
}
