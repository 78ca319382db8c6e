/**
 * f16 storage on the CPU reference: the f32 → f16 rounding against numpy, the ops that take f16 and
 * the ones that must refuse it, and gradients through a frozen f16 weight.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  add,
  cast,
  cpuBackend,
  exp,
  gather,
  matmul,
  permute,
  reshape,
  softmax,
  sum,
  tensor,
  valueAndGrad,
  type AnyTensor,
  type Tensor,
} from '../../core/index.ts';
import { halfBitsOfF32Bits, halfValue } from '../../core/tensor/half.ts';
import { expectClose } from '../support/close.ts';

const bk = cpuBackend();
const f32Bits = (v: number): number => new Uint32Array(Float32Array.of(v).buffer)[0]!;

/**
 * [f32 input, binary16 bits] from numpy 2.4, independent of this code:
 *   python3 -c "import numpy as np; print(hex(np.float32(v).astype(np.float16).view(np.uint16)))"
 * 1 + 2^-11 lies halfway between 1 and 1 + 2^-10 (ties to even: 1); 1 + 3·2^-11 ties up to even 0x3c02;
 * 2049 and 2051 are ties at spacing 2; 65520 is halfway to 2^16 and so overflows to Inf;
 * 2^-24 is the least subnormal, 2^-25 ties to 0, 1.5·2^-24 and 2.5·2^-24 tie to even 2·2^-24;
 * 1023.5·2^-24 rounds up into the least normal 2^-14.
 */
const NUMPY: readonly (readonly [number, number])[] = [
  [1, 0x3c00],
  [-1, 0xbc00],
  [0, 0x0000],
  [-0, 0x8000],
  [1.00048828125, 0x3c00],
  [1.00146484375, 0x3c02],
  [1.0009765625, 0x3c01],
  [65504, 0x7bff],
  [65519.99, 0x7bff],
  [65520, 0x7c00],
  [-65520, 0xfc00],
  [1e6, 0x7c00],
  [6.103515625e-5, 0x0400],
  [6.097555160522461e-5, 0x03ff],
  [5.960464477539063e-8, 0x0001],
  [2.9802322387695312e-8, 0x0000],
  [4.470348358154297e-8, 0x0001],
  [8.940696716308594e-8, 0x0002],
  [1.4901161193847656e-7, 0x0002],
  [6.1005353927612305e-5, 0x0400],
  [1e-10, 0x0000],
  [0.1, 0x2e66],
  [-0.3, 0xb4cd],
  [0.333333, 0x3555],
  [NaN, 0x7e00],
  [Infinity, 0x7c00],
  [-Infinity, 0xfc00],
  [3.0517578125e-5, 0x0200],
  [2.0000001, 0x4000],
  [2049, 0x6800],
  [2051, 0x6802],
];

test('f32 → f16 bits match numpy (ties to even, subnormals, overflow to ±Inf, NaN, -0)', () => {
  for (const [v, h] of NUMPY) assert.is(halfBitsOfF32Bits(f32Bits(v)).toString(16), h.toString(16), `f16(${v})`);
});

test('every half survives f16 → f32 → f16; NaN payloads stay NaN', () => {
  for (let h = 0; h < 65536; h++) {
    const back = halfBitsOfF32Bits(f32Bits(halfValue(h)));
    const nan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    // a JS number has no NaN payload to give back, so NaN only has to stay a NaN
    if (nan) assert.ok(Number.isNaN(halfValue(back)), `NaN ${h.toString(16)}`);
    else assert.is(back, h, `half ${h.toString(16)}`);
  }
});

test('rounding is to the nearest half (ties to even) for random f32 values', () => {
  fc.assert(
    fc.property(fc.float({ noNaN: true, noDefaultInfinity: true, min: -65000, max: 65000 }), (x) => {
      const h = halfBitsOfF32Bits(f32Bits(x));
      const v = halfValue(h);
      // neighbours one half-ulp step either side (same sign direction) must be no closer
      for (const n of [halfValue(h + 1), halfValue(h - 1)]) {
        if (!Number.isFinite(n) || Number.isNaN(n)) continue;
        const dv = Math.abs(v - x),
          dn = Math.abs(n - x);
        assert.ok(dv < dn || (dv === dn && (h & 1) === 0), `${x} → ${v} but ${n} is nearer`);
      }
    }),
    { numRuns: 2000, seed: 11 },
  );
});

test('cast: f32 → f16 stores halves; f16 → f32/f64 widens exactly; other f16 casts refuse', () => {
  const x = tensor(bk, [0.1, 65520, 1 + 2 ** -11, 2 ** -25]);
  const h = cast(x, 'f16');
  assert.is(h.dtype, 'f16');
  assert.equal(Array.from(h.dataSync()), [0.0999755859375, Infinity, 1, 0]);
  assert.equal(Array.from(cast(h, 'f64').dataSync()), [0.0999755859375, Infinity, 1, 0]);
  assert.throws(() => cast(tensor(bk, [0.1], { dtype: 'f64' }), 'f16'), /cast: f64 → f16 is not supported/);
  assert.throws(() => cast(tensor(bk, [1], { dtype: 'i32' }), 'f16'), /cast: i32 → f16/);
  assert.throws(() => cast(h, 'i32'), /cast: f16 → i32/);
});

test('every op but cast, reshape and matmul refuses an f16 tensor, naming the op and the dtype', () => {
  // the compiler already refuses Tensor<'f16'> for these ops; the cast reaches the run-time check JS callers meet
  const w = cast(
    tensor(bk, [
      [1, 2],
      [3, 4],
    ]),
    'f16',
  ) as unknown as Tensor;
  const ids = tensor(bk, [0], { dtype: 'i32' });
  const cases: [string, () => unknown][] = [
    ['add', () => add(w, 1)],
    ['add', () => add(tensor(bk, [1, 2]), w)],
    ['exp', () => exp(w)],
    ['sum', () => sum(w)],
    ['softmax', () => softmax(w)],
    ['gather', () => gather(w, ids)],
    ['permute', () => permute(w, [1, 0])],
  ];
  for (const [op, f] of cases) assert.throws(f, new RegExp(`^${op}: got an f16 tensor \\[2, 2\\]`), op);
  assert.equal(reshape(w, [4]).dtype, 'f16');
});

test('matmul f32 × f16 computes in f32 on the halves (all transposes, either side)', () => {
  const a = tensor(bk, [
    [0.1, 0.2, 0.3],
    [0.4, 0.5, 0.6],
  ]);
  const wv = [
    [1.001, -2.0004],
    [0.3333, 4.7],
    [-5.55, 0.0123],
  ];
  const w = tensor(bk, wv),
    wh = cast(w, 'f16'),
    wr = cast(wh, 'f32');
  for (const [tA, tB] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    const A = tA ? permute(a, [1, 0]) : a;
    const W = tB ? [cast(permute(w, [1, 0]), 'f16'), cast(cast(permute(w, [1, 0]), 'f16'), 'f32')] : [wh, wr];
    const got = matmul(A, W[0]!, tA, tB);
    assert.is(got.dtype, 'f32');
    // the CPU reference reads f16 storage as the f32 halves it holds: the same bits as an f32 copy
    assert.equal(Array.from(got.dataSync()), Array.from(matmul(A, W[1]!, tA, tB).dataSync()));
    const flipped = matmul(W[0]!, A, !tB, !tA); // (A·W)ᵀ = Wᵀ·Aᵀ with f16 as the left operand
    expectClose(permute(flipped, [1, 0]), got, { atol: 1e-6, rtol: 1e-6 }, `f16 left ${tA}${tB}`);
  }
  assert.throws(
    () => matmul(tensor(bk, [[1]], { dtype: 'f64' }), cast(tensor(bk, [[1]]), 'f16')),
    /matmul: dtype mismatch f64 vs f16/,
  );
});

test('gradients flow through a frozen f16 weight to the prompt, and not into the f16 weight', () => {
  const w32 = tensor(bk, [
    [0.5, -1.25, 2.1],
    [0.7, 0.01, -3.3],
  ]);
  const wh = cast(w32, 'f16'),
    wr = cast(wh, 'f32');
  const x = tensor(bk, [
    [1, 2, 3],
    [-1, 0.5, 0.25],
  ]);
  const loss = (w: AnyTensor) => (p: { x: Tensor }) => sum(matmul(p.x, w, false, true));
  const [, gh] = valueAndGrad(loss(wh))({ x });
  const [, gr] = valueAndGrad(loss(wr))({ x });
  // dX = dY·W with dY = 1: each row is the column sums of the stored halves
  assert.equal(Array.from(gh.x.dataSync()), Array.from(gr.x.dataSync()));
  // numpy: np.float16 of W, column sums in f64 (each is exact in f32)
  const colSums = [1.2001953125, -1.2399978637695312, -1.201171875];
  assert.equal(Array.from(gh.x.dataSync()), [...colSums, ...colSums]);
  const viaF16 = (p: { w: Tensor }) => sum(matmul(x, cast(p.w, 'f16'), false, true));
  assert.throws(() => valueAndGrad(viaF16)({ w: w32 }), /matmul: f16 operand \[2, 3\] is being differentiated/);
});

test.run();
