/** compare (no gradient), where (gradient to both branches, three-way broadcasting) and cast. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  cast,
  compare,
  cpuBackend,
  equal,
  greater,
  greaterEqual,
  less,
  lessEqual,
  mul,
  notEqual,
  scope,
  sum,
  tensor,
  valueAndGrad,
  where,
  type Tensor,
} from '../../core/index.ts';
import {
  broadcastShapesArb,
  forAll,
  seedArb,
  tensorArb,
  toTensor,
  valuesArb,
  type TensorSpec,
} from '../support/arbitraries.ts';
import { broadcastRef } from '../support/broadcast-ref.ts';
import { expectClose } from '../support/close.ts';
import { checkVjp, GRAD_TOL } from '../support/gradcheck.ts';

const bk = cpuBackend();
const EXACT = { atol: 0, rtol: 0 };

/** cond (0/1 values), a, b: three broadcast-compatible specs. */
const triple = broadcastShapesArb(3).chain(([sc, sa, sb]) =>
  fc.tuple(
    valuesArb(sc!).map((s): TensorSpec => ({ shape: s.shape, values: s.values.map((v) => (v > 0 ? 1 : 0)) })),
    valuesArb(sa!),
    valuesArb(sb!),
  ),
);

test('vjp: where sends the cotangent to the chosen branch of each element (both branches traced)', () => {
  forAll(bk, fc.tuple(triple, seedArb), ([[c, a, b], seed]) => {
    const cond = tensor(bk, Int32Array.from(c.values), { shape: c.shape, dtype: 'i32' });
    checkVjp(([x, y]) => where(cond, x, y), [toTensor(bk, a), toTensor(bk, b)], { seed, label: 'where' });
    checkVjp(([x]) => where(cond, x, 0.5), [toTensor(bk, a)], { seed, label: 'where(c, x, 0.5)' });
    checkVjp(([y]) => where(cond, -2, y), [toTensor(bk, b)], { seed, label: 'where(c, -2, y)' });
  });
});

test('forward: where matches a naive broadcast select (f64 cond as well)', () => {
  forAll(bk, triple, ([c, a, b]) => {
    const ref = broadcastRef([c, a, b], (cv, av, bv) => (cv !== 0 ? av : bv));
    expectClose(where(toTensor(bk, c), toTensor(bk, a), toTensor(bk, b)), ref, EXACT, 'where');
  });
});

test('where gradients: exact masks for a hand example', () => {
  scope(bk, () => {
    const cond = tensor(bk, [[1], [0]], { dtype: 'i32' }); // [2,1] broadcast over [2,3]
    const a = tensor(bk, [1, 2, 3], { dtype: 'f64' }),
      b = tensor(
        bk,
        [
          [4, 5, 6],
          [7, 8, 9],
        ],
        { dtype: 'f64' },
      );
    const [v, g] = valueAndGrad((p: { a: Tensor; b: Tensor }) => sum(where(cond, p.a, p.b)))({ a, b });
    assert.is(v.itemSync(), 6 + 24);
    expectClose(g.a, [1, 1, 1], EXACT, 'da'); // row 0 picks a
    expectClose(g.b, [0, 0, 0, 1, 1, 1], EXACT, 'db');
  });
});

const CMP = [
  ['eq', equal, (a: number, b: number) => a === b],
  ['ne', notEqual, (a: number, b: number) => a !== b],
  ['lt', less, (a: number, b: number) => a < b],
  ['le', lessEqual, (a: number, b: number) => a <= b],
  ['gt', greater, (a: number, b: number) => a > b],
  ['ge', greaterEqual, (a: number, b: number) => a >= b],
] as const;

test('forward: every comparison is an i32 0/1 mask with broadcasting (ties included)', () => {
  // values on a coarse grid so that ties are common
  const grid = { low: -2, high: 2, lattice: 0 };
  forAll(
    bk,
    broadcastShapesArb(2).chain(([sa, sb]) => fc.tuple(valuesArb(sa!, grid), valuesArb(sb!, grid))),
    ([a, b]) => {
      const ra = { shape: a.shape, values: a.values.map(Math.floor) },
        rb = { shape: b.shape, values: b.values.map(Math.floor) };
      for (const [name, op, ref] of CMP) {
        const m = op(toTensor(bk, ra), toTensor(bk, rb));
        assert.is(m.dtype, 'i32');
        expectClose(
          m,
          broadcastRef([ra, rb], (x, y) => (ref(x, y) ? 1 : 0)),
          EXACT,
          name,
        );
        expectClose(compare(name, toTensor(bk, ra), toTensor(bk, rb)), m, EXACT, `compare('${name}')`);
      }
    },
  );
});

test('compare carries no gradient: d/dx Σ x·[x > 0] is the mask', () => {
  forAll(bk, tensorArb({ avoid: [0] }), (s) => {
    const x = toTensor(bk, s);
    const [, g] = valueAndGrad((p: Tensor) => sum(mul(p, cast(greater(p, 0), 'f64'))))(x);
    expectClose(
      g,
      s.values.map((v) => (v > 0 ? 1 : 0)),
      EXACT,
      'mask',
    );
  });
});

test('vjp: cast f64 → f64 is the identity map', () => {
  forAll(bk, fc.tuple(tensorArb(), seedArb), ([s, seed]) =>
    checkVjp(([x]) => cast(x, 'f64'), [toTensor(bk, s)], { seed }),
  );
});

test('cast f64 → f32 → f64: the gradient comes back f64 and matches the f64 path to f32 tolerance', () => {
  forAll(bk, fc.tuple(tensorArb({ minRank: 1 }), tensorArb({ minRank: 1 })), ([s, w]) => {
    const x = toTensor(bk, s);
    const w64 = toTensor(bk, { shape: s.shape, values: s.values.map((_, i) => w.values[i % w.values.length]!) });
    const w32 = cast(w64, 'f32');
    const [v32, g32] = valueAndGrad((p: Tensor) => sum(mul(mul(cast(p, 'f32'), cast(p, 'f32')), w32)))(x);
    const [v64, g64] = valueAndGrad((p: Tensor) => sum(mul(mul(p, p), w64)))(x);
    assert.is(g32.dtype, 'f64');
    assert.is(v32.dtype, 'f32');
    expectClose(g32, g64, GRAD_TOL.f32, 'grad through f32');
    expectClose(v32, v64, GRAD_TOL.f32, 'value through f32');
  });
});

test('cast to i32 stops the gradient (integer tensors have no cotangent)', () => {
  scope(bk, () => {
    const x = tensor(bk, [1.5, -2.5], { dtype: 'f64' });
    const [, g] = valueAndGrad((p: Tensor) => sum(mul(p, cast(cast(p, 'i32'), 'f64'))))(x);
    expectClose(g, [1, -2], EXACT, 'only the direct path'); // trunc(1.5)=1, trunc(-2.5)=-2
  });
});

test.run();
