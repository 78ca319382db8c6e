/** Broadcasting binary primitives: VJP vs finite differences (either operand broadcast), forward vs a naive reference. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  add,
  cpuBackend,
  div,
  maximum,
  minimum,
  mul,
  pow,
  scope,
  sub,
  sum,
  tensor,
  valueAndGrad,
  type Tensor,
  type TensorLike,
} from '../../core/index.ts';
import { broadcastTensorsArb, forAll, seedArb, tensorArb, toTensor, type ValueOpts } from '../support/arbitraries.ts';
import { broadcastRef } from '../support/broadcast-ref.ts';
import { expectClose } from '../support/close.ts';
import { checkVjp } from '../support/gradcheck.ts';

const bk = cpuBackend();
type Bin = (a: TensorLike, b: TensorLike) => Tensor;

/** [name, op, reference, value options for a and for b]. */
const CASES: readonly [string, Bin, (a: number, b: number) => number, ValueOpts, ValueOpts][] = [
  ['add', add, (a, b) => a + b, {}, {}],
  ['sub', sub, (a, b) => a - b, {}, {}],
  ['mul', mul, (a, b) => a * b, {}, {}],
  ['div', div, (a, b) => a / b, {}, { avoid: [0], margin: 0.3 }],
  ['pow', pow, Math.pow, { low: 0.3, high: 3 }, { low: -2, high: 2 }],
  // operands on disjoint lattices: never tied, so max/min are differentiable everywhere sampled
  ['maximum', maximum, Math.max, { lattice: 0.25 }, { lattice: 0.75 }],
  ['minimum', minimum, Math.min, { lattice: 0.25 }, { lattice: 0.75 }],
];

for (const [name, op, ref, va, vb] of CASES) {
  const pair = broadcastTensorsArb(2, {}, [va, vb]);
  test(`vjp: ${name} with broadcasting (either side)`, () => {
    forAll(bk, fc.tuple(pair, seedArb), ([[a, b], seed]) =>
      checkVjp(([x, y]) => op(x, y), [toTensor(bk, a!), toTensor(bk, b!)], { seed, label: name }),
    );
  });
  test(`forward: ${name} matches a naive broadcast loop`, () => {
    forAll(bk, pair, ([a, b]) =>
      expectClose(
        op(toTensor(bk, a!), toTensor(bk, b!)),
        broadcastRef([a!, b!], ref),
        { atol: 1e-14, rtol: 1e-14 },
        name,
      ),
    );
  });
  test(`vjp: ${name} with a number operand on each side`, () => {
    const k = name === 'div' || name === 'pow' ? 1.7 : 0.6;
    forAll(bk, tensorArb({ low: 0.3, high: 3, ...va }), (s) => {
      const x = toTensor(bk, s);
      checkVjp(([t]) => op(t, k), [x], { label: `${name}(x, ${k})` });
      checkVjp(([t]) => op(k, t), [x], { label: `${name}(${k}, x)` });
    });
  });
}

test('maximum/minimum split the gradient evenly between tied operands', () => {
  scope(bk, () => {
    const a = tensor(bk, [1, 2, 3], { dtype: 'f64' }),
      b = tensor(bk, [1, 5, 0], { dtype: 'f64' });
    const [, gmax] = valueAndGrad((p: { a: Tensor; b: Tensor }) => sum(maximum(p.a, p.b)))({ a, b });
    expectClose(gmax.a, [0.5, 0, 1], { atol: 0, rtol: 0 }, 'dmax/da');
    expectClose(gmax.b, [0.5, 1, 0], { atol: 0, rtol: 0 }, 'dmax/db');
    const [, gmin] = valueAndGrad((p: { a: Tensor; b: Tensor }) => sum(minimum(p.a, p.b)))({ a, b });
    expectClose(gmin.a, [0.5, 1, 0], { atol: 0, rtol: 0 }, 'dmin/da');
    expectClose(gmin.b, [0.5, 0, 1], { atol: 0, rtol: 0 }, 'dmin/db');
    const [, gself] = valueAndGrad((p: Tensor) => sum(maximum(p, p)))(a);
    expectClose(gself, [1, 1, 1], { atol: 0, rtol: 0 }, 'd max(x, x)/dx');
  });
});

test('broadcast gradients are summed back to each operand shape', () => {
  scope(bk, () => {
    const a = tensor(bk, [[1], [2]], { dtype: 'f64' }),
      b = tensor(bk, [10, 20, 30], { dtype: 'f64' }); // [2,1] · [3]
    const [, g] = valueAndGrad((p: { a: Tensor; b: Tensor }) => sum(mul(p.a, p.b)))({ a, b });
    assert.equal(g.a.shape, [2, 1]);
    assert.equal(g.b.shape, [3]);
    expectClose(g.a, [60, 60], { atol: 0, rtol: 0 }, 'da');
    expectClose(g.b, [3, 3, 3], { atol: 0, rtol: 0 }, 'db');
  });
});

test('shape and dtype errors name the op, both shapes and the axis', () => {
  scope(bk, () => {
    const a = tensor(
        bk,
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        { dtype: 'f64' },
      ),
      b = tensor(
        bk,
        [
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
          [1, 1, 1],
        ],
        { dtype: 'f64' },
      );
    assert.throws(
      () => add(a, b),
      (e: Error) =>
        e.name === 'ShapeError' &&
        /^add: /.test(e.message) &&
        e.message.includes('[2, 3]') &&
        e.message.includes('[4, 3]') &&
        /axis -2/.test(e.message),
    );
    assert.throws(
      () => mul(a, tensor(bk, [1, 2, 3], { dtype: 'f32' })),
      /mul: dtype mismatch \[2, 3\] f64 vs \[3\] f32/,
    );
  });
});

test.run();
