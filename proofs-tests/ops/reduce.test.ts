/** Reductions over random axis subsets (keepdims both), mean/variance composites and argmax. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  argmax,
  cpuBackend,
  max,
  mean,
  min,
  mul,
  scope,
  sum,
  tensor,
  valueAndGrad,
  variance,
  type Tensor,
} from '../../core/index.ts';
import {
  axesArb,
  axisArb,
  forAll,
  seedArb,
  shapeArb,
  toTensor,
  valuesArb,
  type TensorSpec,
  type ValueOpts,
} from '../support/arbitraries.ts';
import { forEachIndex } from '../support/broadcast-ref.ts';
import { expectClose } from '../support/close.ts';
import { checkVjp } from '../support/gradcheck.ts';

const bk = cpuBackend();
type Reduce = (x: Tensor, axes?: number | readonly number[], keepdims?: boolean) => Tensor;

/** Naive reduction: folds every input element into its output slot. */
function reduceRef(
  s: TensorSpec,
  axes: readonly number[] | undefined,
  keepdims: boolean,
  fold: (acc: number[]) => number,
) {
  const r = s.shape.length;
  const ax = (axes ?? s.shape.map((_, i) => i)).map((a) => (a < 0 ? a + r : a));
  const kept = s.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const buckets = Array.from({ length: kept.reduce((a, b) => a * b, 1) }, () => [] as number[]);
  forEachIndex(s.shape, (idx, k) => {
    let o = 0;
    kept.forEach((d, i) => {
      o = o * d + (d === 1 ? 0 : idx[i]!);
    });
    buckets[o]!.push(s.values[k]!);
  });
  const shape = keepdims ? kept : s.shape.filter((_, i) => !ax.includes(i));
  return { shape, values: buckets.map(fold) };
}

const CASES: readonly [string, Reduce, (v: number[]) => number, ValueOpts][] = [
  ['sum', sum, (v) => v.reduce((a, b) => a + b, 0), {}],
  ['mean', mean, (v) => v.reduce((a, b) => a + b, 0) / v.length, {}],
  ['max', max, (v) => Math.max(...v), { distinct: true }], // no ties: max is differentiable at every sample
  ['min', min, (v) => Math.min(...v), { distinct: true }],
];

const withAxes = (vo: ValueOpts) =>
  shapeArb().chain((shape) => fc.tuple(valuesArb(shape, vo), axesArb(shape.length), fc.boolean(), seedArb));

for (const [name, op, fold, vo] of CASES) {
  test(`vjp: ${name} over random axes (keepdims both)`, () => {
    forAll(bk, withAxes(vo), ([s, axes, keep, seed]) =>
      checkVjp(([x]) => op(x, axes, keep), [toTensor(bk, s)], {
        seed,
        label: `${name}(axes ${axes}, keepdims ${keep})`,
      }),
    );
  });
  test(`forward: ${name} matches a naive fold, with the right shape`, () => {
    forAll(bk, withAxes(vo), ([s, axes, keep]) => {
      const y = op(toTensor(bk, s), axes, keep);
      const ref = reduceRef(s, axes, keep, fold);
      assert.equal([...y.shape], ref.shape, `${name} shape`);
      expectClose(y, ref.values, { atol: 1e-13, rtol: 1e-13 }, name);
    });
  });
}

test('vjp: variance along a random axis (keepdims both)', () => {
  forAll(
    bk,
    shapeArb({ minRank: 1 }).chain((sh) => fc.tuple(valuesArb(sh), axisArb(sh.length), fc.boolean(), seedArb)),
    ([s, axis, keep, seed]) =>
      checkVjp(([x]) => variance(x, axis, keep), [toTensor(bk, s)], { seed, label: 'variance' }),
  );
});

test('forward: variance is the biased variance', () => {
  scope(bk, () => {
    expectClose(
      variance(
        tensor(
          bk,
          [
            [1, 2, 3, 4],
            [2, 2, 2, 2],
          ],
          { dtype: 'f64' },
        ),
      ),
      [1.25, 0],
      { atol: 1e-15, rtol: 0 },
      'var',
    );
  });
});

test('max/min gradients share ties evenly; empty axis list is the identity', () => {
  scope(bk, () => {
    const x = tensor(
      bk,
      [
        [3, 1, 3],
        [0, 0, 0],
      ],
      { dtype: 'f64' },
    );
    const [, g] = valueAndGrad((p: Tensor) => sum(max(p, 1)))(x);
    expectClose(g, [0.5, 0, 0.5, 1 / 3, 1 / 3, 1 / 3], { atol: 1e-15, rtol: 0 }, 'max ties');
    const [, gm] = valueAndGrad((p: Tensor) => sum(min(p)))(x);
    expectClose(gm, [0, 0, 0, 1 / 3, 1 / 3, 1 / 3], { atol: 1e-15, rtol: 0 }, 'global min ties');
    const [, gi] = valueAndGrad((p: Tensor) => sum(mul(max(p, []), p)))(x);
    expectClose(gi, [6, 2, 6, 0, 0, 0], { atol: 0, rtol: 0 }, 'max over no axes');
  });
});

test('forward: argmax picks the first maximum along the axis (i32, no gradient)', () => {
  forAll(
    bk,
    shapeArb({ minRank: 1 }).chain((sh) => fc.tuple(valuesArb(sh, { distinct: true }), axisArb(sh.length))),
    ([s, axis]) => {
      const a = argmax(toTensor(bk, s), axis);
      assert.is(a.dtype, 'i32');
      const r = s.shape.length,
        ax = axis < 0 ? axis + r : axis;
      const ref = reduceRef({ shape: s.shape, values: s.values.map((_, i) => i) }, [ax], false, (ids) => {
        let best = 0;
        ids.forEach((id, k) => {
          if (s.values[id]! > s.values[ids[best]!]!) best = k;
        });
        return best;
      });
      expectClose(a, ref.values, { atol: 0, rtol: 0 }, 'argmax');
    },
  );
  scope(bk, () =>
    assert.equal(
      Array.from(
        argmax(
          tensor(
            bk,
            [
              [1, 5, 5],
              [2, 2, 0],
            ],
            { dtype: 'f64' },
          ),
        ).dataSync(),
      ),
      [1, 0],
    ),
  );
});

test.run();
