/**
 * int8 frozen weights (core/tensor/int8.ts): the quantizers against hand-worked codes and their error
 * bound, the oracle's product against an independent f64 product of the dequantized operands, the
 * autograd wiring (dx through dy·W, bias Σ dy, no gradient for the weight), and the errors users see.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  cpuBackend,
  int8Weight,
  linearInt8,
  tensor,
  UnsupportedOp,
  vjp,
  type Backend,
  type Tensor,
} from '../../core/index.ts';
import {
  int8ProductRef,
  quantizeRow,
  quantizeWeights,
  roundHalfEven,
  ROW_LEVELS,
  WEIGHT_LEVELS,
} from '../../core/tensor/int8.ts';
import { seededValues } from '../support/seeded.ts';

const test = suite('int8 weights');
const cpu = cpuBackend();

test('roundHalfEven: ties to even as f32x4.nearest, NaN to 0 as trunc_sat', () => {
  const cases: [number, number][] = [
    [2.5, 2],
    [3.5, 4],
    [-2.5, -2],
    [-3.5, -4],
    [0.4999, 0],
    [-0.5, -0],
    [126.6, 127],
    [NaN, 0],
  ];
  for (const [v, want] of cases) assert.is(roundHalfEven(v), want, `round(${v})`);
});

test('quantizeWeights: a hand-worked row, a zero row, codes within ±63', () => {
  // max |w| = 1 → scale 1/63, codes round(w·63): 63, −31.5 → −32 (even), 15.75 → 16, 0
  const m = quantizeWeights([1, -0.5, 0.25, 0, 0, 0, 0, 0], 2, 4);
  assert.equal([...m.q], [63, -32, 16, 0, 0, 0, 0, 0]);
  assert.is(m.scale[0], Math.fround(1 / 63));
  assert.is(m.scale[1], 0);
  assert.throws(() => quantizeWeights([1, 2, 3], 2, 2, 'w'), /w has 3 elements, want \[2, 2\]/);
  assert.throws(() => quantizeWeights([1, Infinity], 1, 2, 'enc.w'), /enc.w row 0 holds Infinity/);
});

test('quantize error bound: |w − q·s| ≤ s/2 (+ f32 rounding), and the largest |q| is the level count', () => {
  const w = seededValues(3, 50 * 37, -2, 2);
  const m = quantizeWeights(w, 50, 37);
  for (let n = 0; n < 50; n++) {
    let top = 0;
    for (let k = 0; k < 37; k++) {
      const i = n * 37 + k;
      top = Math.max(top, Math.abs(m.q[i]!));
      assert.ok(Math.abs(w[i]! - m.q[i]! * m.scale[n]!) <= m.scale[n]! * (0.5 + 1e-5), `w[${n},${k}]`);
    }
    assert.is(top, WEIGHT_LEVELS);
  }
  const x = seededValues(4, 29, -5, 5),
    q = new Int8Array(29);
  const s = quantizeRow(x, 0, 29, undefined, q, 0);
  for (let k = 0; k < 29; k++) assert.ok(Math.abs(x[k]! - q[k]! * s) <= s * (0.5 + 1e-5));
  assert.is(Math.max(...[...q].map(Math.abs)), ROW_LEVELS);
});

/** The same product from the codes in plain f64: Σ (qa·sa)(qw·sw), no f32 step, no integer trick. */
function dequantizedProduct(x: Float32Array, M: number, N: number, K: number, w: ReturnType<typeof quantizeWeights>) {
  const out = new Float64Array(M * N),
    qa = new Int8Array(K);
  for (let m = 0; m < M; m++) {
    const sa = quantizeRow(x, m * K, K, undefined, qa, 0);
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += qa[k]! * sa * (w.q[n * K + k]! * w.scale[n]!);
      out[m * N + n] = acc;
    }
  }
  return out;
}

test('oracle forward = the dequantized f64 product to f32 rounding; backward folds the scales into dy', () => {
  const M = 6,
    N = 9,
    K = 21;
  const w = quantizeWeights(seededValues(5, N * K, -0.3, 0.3), N, K);
  const x = seededValues(6, M * K, -2, 2);
  const y = int8ProductRef(x, M, w, 'forward');
  const want = dequantizedProduct(x, M, N, K, w);
  for (let i = 0; i < y.length; i++)
    assert.ok(Math.abs(y[i]! - want[i]!) <= 4e-7 * (1 + Math.abs(want[i]!)), `y[${i}]`);
  // backward: dx[m,k] ≈ Σ_n dy[m,n]·s_n·q[n,k], within the row quantization of g = dy·s
  const dy = seededValues(7, M * N, -1, 1);
  const dx = int8ProductRef(dy, M, w, 'backward');
  for (let m = 0; m < M; m++) {
    let gmax = 0;
    for (let n = 0; n < N; n++) gmax = Math.max(gmax, Math.abs(dy[m * N + n]! * w.scale[n]!));
    for (let k = 0; k < K; k++) {
      let exact = 0,
        bound = 0;
      for (let n = 0; n < N; n++) {
        exact += dy[m * N + n]! * w.scale[n]! * w.q[n * K + k]!;
        bound += ((gmax / ROW_LEVELS) * 0.5 + 1e-9) * Math.abs(w.q[n * K + k]!);
      }
      assert.ok(Math.abs(dx[m * K + k]! - exact) <= bound, `dx[${m},${k}]`);
    }
  }
});

test('linearInt8: forward with bias, dx through dy·W, db = Σ_rows dy; the weight is not a differentiable input', () => {
  const N = 5,
    K = 7,
    M = 4;
  const wv = seededValues(8, N * K, -1, 1);
  const qw = int8Weight(cpu, wv, [N, K], 'layer.dense.weight');
  const x = tensor(cpu, seededValues(9, 2 * 2 * K, -1, 1), { shape: [2, 2, K], dtype: 'f32' });
  const b = tensor(cpu, seededValues(10, N, -1, 1), { shape: [N], dtype: 'f32' });
  const dy = tensor(cpu, seededValues(11, M * N, -1, 1), { shape: [2, 2, N], dtype: 'f32' });
  const [y, pull] = vjp(([xx, bb]: readonly [Tensor, Tensor]) => linearInt8(xx, qw, bb), [x, b] as const);
  assert.equal(y.shape, [2, 2, N]);
  const m = quantizeWeights(wv, N, K);
  const yRef = int8ProductRef(x.dataSync(), M, m, 'forward', b.dataSync());
  assert.equal([...y.dataSync()], [...yRef]);
  const [dx, db] = pull(dy);
  assert.equal([...dx.dataSync()], [...int8ProductRef(dy.dataSync(), M, m, 'backward')]);
  const dyv = dy.dataSync();
  for (let n = 0; n < N; n++) {
    const s = dyv[n]! + dyv[N + n]! + dyv[2 * N + n]! + dyv[3 * N + n]!;
    assert.ok(Math.abs(db.dataSync()[n]! - s) < 1e-6);
  }
  qw.dispose();
  assert.throws(() => linearInt8(x, qw), /int8 weight \[5, 7\] was already disposed/);
});

test('errors name the tensor, shape and option at fault', () => {
  const qw = int8Weight(cpu, new Float32Array(12), [3, 4], 'w');
  const x = tensor(cpu, new Float32Array(10), { shape: [2, 5], dtype: 'f32' });
  assert.throws(() => linearInt8(x, qw), /linearInt8: input \[2, 5\] does not match int8 weight \[3, 4\]/);
  const x64 = tensor(cpu, new Float64Array(8), { shape: [2, 4], dtype: 'f64' });
  assert.throws(() => linearInt8(x64, qw), /int8 weights take f32 inputs, got f64 \[2, 4\]/);
  const bias = tensor(cpu, new Float32Array(4), { shape: [4], dtype: 'f32' });
  const x4 = tensor(cpu, new Float32Array(8), { shape: [2, 4], dtype: 'f32' });
  assert.throws(() => linearInt8(x4, qw, bias), /bias f32 \[4\], want f32 \[3\]/);
  const noInt8: Backend = Object.assign(Object.create(cpu) as Backend, { uploadInt8: undefined });
  assert.throws(
    () => int8Weight(noInt8, new Float32Array(4), [2, 2], 'enc.w'),
    (e: unknown) => e instanceof UnsupportedOp,
  );
  qw.dispose();
});

test.run();
