/** Elementwise unary primitives: VJP vs finite differences per op, and forward values at known points. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  abs,
  add,
  cos,
  cpuBackend,
  erf,
  exp,
  gelu,
  log,
  log1p,
  neg,
  recip,
  relu,
  rsqrt,
  scope,
  sigmoid,
  sign,
  sin,
  sqrt,
  square,
  step,
  tanh,
  tensor,
  valueAndGrad,
  sum,
  type Tensor,
} from '../../core/index.ts';
import { forAll, seedArb, tensorArb, toTensor, type ValueOpts } from '../support/arbitraries.ts';
import { expectClose } from '../support/close.ts';
import { checkVjp } from '../support/gradcheck.ts';

const bk = cpuBackend();
const AWAY0: ValueOpts = { avoid: [0], margin: 0.1 };

/** [name, op, forward reference, input range]: one property per op. */
const CASES: readonly [string, (x: Tensor) => Tensor, ((v: number) => number) | undefined, ValueOpts][] = [
  ['neg', neg, (v) => -v, {}],
  ['exp', exp, Math.exp, {}],
  ['log', log, Math.log, { low: 0.1, high: 5 }],
  ['sqrt', sqrt, Math.sqrt, { low: 0.1, high: 5 }],
  ['rsqrt', rsqrt, (v) => 1 / Math.sqrt(v), { low: 0.2, high: 5 }],
  ['abs', abs, Math.abs, AWAY0],
  ['sign', sign, Math.sign, AWAY0],
  ['tanh', tanh, Math.tanh, { low: -4, high: 4 }],
  ['sigmoid', sigmoid, (v) => 1 / (1 + Math.exp(-v)), { low: -8, high: 8 }],
  ['relu', relu, (v) => Math.max(v, 0), AWAY0],
  ['step', step, (v) => (v > 0 ? 1 : 0), AWAY0],
  ['erf', erf, undefined, { low: -4, high: 4 }], // crosses |x| = 3, where the series hands over to the continued fraction
  ['gelu', gelu, undefined, { low: -5, high: 5 }],
  ['recip', recip, (v) => 1 / v, { low: -3, high: 3, avoid: [0], margin: 0.3 }],
  ['square', square, (v) => v * v, {}],
  ['log1p', log1p, Math.log1p, { low: -0.8, high: 3 }],
  ['sin', sin, Math.sin, { low: -4, high: 4 }],
  ['cos', cos, Math.cos, { low: -4, high: 4 }],
];

for (const [name, op, ref, range] of CASES) {
  test(`vjp: ${name} matches finite differences`, () => {
    forAll(bk, fc.tuple(tensorArb(range), seedArb), ([s, seed]) =>
      checkVjp(([x]) => op(x), [toTensor(bk, s)], { seed, label: name }),
    );
  });
  if (ref) {
    test(`forward: ${name} matches Math`, () => {
      forAll(bk, tensorArb(range), (s) =>
        expectClose(op(toTensor(bk, s)), s.values.map(ref), { atol: 1e-14, rtol: 1e-14 }, name),
      );
    });
  }
}

test('forward: erf at known points (f64 to 1e-15, f32 to 2e-7)', () => {
  scope(bk, () => {
    const xs = [0, 0.5, 1, -1.5, 2, 2.9999, 3, 3.5, 4, 5.5, -6, 7]; // references: CPython math.erf
    const ref = [
      0, 0.5204998778130465, 0.8427007929497149, -0.9661051464753108, 0.9953222650189527, 0.9999778955735178,
      0.9999779095030014, 0.9999992569016276, 0.9999999845827421, 0.9999999999999927, -1, 1,
    ];
    expectClose(erf(tensor(bk, xs, { dtype: 'f64' })), ref, { atol: 1e-15, rtol: 1e-15 }, 'erf f64');
    expectClose(erf(tensor(bk, xs, { dtype: 'f32' })), ref, { atol: 2e-7, rtol: 0 }, 'erf f32');
  });
});

test('forward: exact (erf) gelu at known points, odd symmetry of erf', () => {
  scope(bk, () => {
    const Phi = [0.5, 0.8413447460685429, 0.9772498680518208, 0.15865525393145707]; // Φ(0), Φ(1), Φ(2), Φ(-1)
    const xs = [0, 1, 2, -1];
    expectClose(
      gelu(tensor(bk, xs, { dtype: 'f64' })),
      xs.map((x, i) => x * Phi[i]!),
      { atol: 1e-15, rtol: 1e-15 },
      'gelu',
    );
    forAll(bk, tensorArb({ low: -5, high: 5 }), (s) => {
      const x = toTensor(bk, s);
      expectClose(erf(neg(x)), neg(erf(x)), { atol: 0, rtol: 0 }, 'erf(-x) = -erf(x)');
    });
  });
});

test('gelu gradient equals Φ(x) + x·φ(x) at known points', () => {
  scope(bk, () => {
    const x = tensor(bk, [0, 1, -1], { dtype: 'f64' });
    const [, g] = valueAndGrad((p: Tensor) => sum(gelu(p)))(x);
    const phi = (v: number) => Math.exp((-v * v) / 2) / Math.sqrt(2 * Math.PI);
    expectClose(
      g,
      [0.5, 0.8413447460685429 + phi(1), 0.15865525393145707 - phi(1)],
      { atol: 1e-15, rtol: 1e-14 },
      "gelu'",
    );
  });
});

test('sign/step/relu/abs at 0 and float-only ops refuse i32', () => {
  scope(bk, () => {
    const z = tensor(bk, [0, -0, 2, -2], { dtype: 'f64' });
    const [, g] = valueAndGrad((p: Tensor) => sum(add(add(relu(p), abs(p)), sign(p))))(z);
    // relu'(0) = 0 (step is x > 0), abs'(0) = sign(0) = 0, sign' = 0 everywhere
    expectClose(g, [0, 0, 2, -1], { atol: 0, rtol: 0 }, 'grad at 0');
    const i = tensor(bk, [1, 2], { dtype: 'i32' });
    assert.throws(() => exp(i), /exp: needs a float tensor, got i32/);
    assert.equal(Array.from(abs(neg(i)).dataSync()), [1, 2]);
  });
});

test.run();
