/**
 * Parity: the WebGPU int8 product (WGSL dot4I8Packed, kernels/wgsl/int8.ts) against the CPU oracle
 * (core/tensor/int8.ts): forward x·Wᵀ + b and the data path dy·W through the autograd front end
 * (linearInt8), over shapes with partial words, partial 32×32 tiles, a row of zeros, a row holding NaN,
 * and random shapes. Tolerance: the integer sums are exact and the row quantization (its scales by
 * correctly rounded division) is the oracle's, so the only licence is the epilogue's f32(acc)·s + b, which
 * a device may contract into one fma: |got − want| ≤ ½ ulp(f32(acc)·s) ≤ 2⁻²⁴·|acc·s|. The test measures
 * the largest difference in ulps and reports it; on lavapipe it is 0 (bit for bit).
 */
import fc from 'fast-check';
import * as assert from 'uvu/assert';
import { int8Weight, linearInt8, tensor, vjp, type Backend, type Tensor } from '../../core/index.ts';
import { quantizeWeights } from '../../core/tensor/int8.ts';
import { cpu, gpuSuite, RUNS, values } from './harness.ts';

const { test, gpu } = await gpuSuite('webgpu int8 parity');

interface Run {
  readonly y: Float32Array;
  readonly dx: Float32Array;
}

async function run(bk: Backend, M: number, N: number, K: number, seed: number, special: boolean): Promise<Run> {
  const w = quantizeWeights(values(seed, N * K, -0.2, 0.2), N, K);
  const xs = values(seed + 1, M * K, -3, 3);
  const cot = values(seed + 2, M * N, -1, 1);
  if (special && M > 2) {
    xs.fill(0, K, 2 * K); // a row of zeros: scale 0, codes 0
    xs[2 * K] = NaN; // a row holding NaN comes out NaN
    cot.fill(0, 0, N);
  }
  const qw = int8Weight(bk, w, [N, K]);
  const x = tensor(bk, xs, { shape: [M, K], dtype: 'f32' });
  const b = tensor(bk, values(seed + 3, N, -1, 1), { shape: [N], dtype: 'f32' });
  const c = tensor(bk, cot, { shape: [M, N], dtype: 'f32' });
  const [y, pull] = vjp(([xx, bb]: readonly [Tensor, Tensor]) => linearInt8(xx, qw, bb), [x, b] as const);
  const [dx, db] = pull(c);
  const out = { y: (await y.data()) as Float32Array, dx: await dx.data() };
  for (const t of [y, dx, db, x, b, c]) t.dispose();
  qw.dispose();
  return out;
}

/** ulps between two f32 values of the same sign (0 when bit-equal; NaN matches NaN only). */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  const u = new Int32Array(Float32Array.of(a, b).buffer);
  return Math.abs(u[0]! - u[1]!);
}

let worstUlps = 0;

function expectInt8Close(got: Float32Array, want: Float32Array, label: string): void {
  assert.is(got.length, want.length, `${label}: length`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!,
      r = want[i]!;
    if (Object.is(g, r) || (Number.isNaN(g) && Number.isNaN(r))) continue;
    worstUlps = Math.max(worstUlps, ulps(g, r));
    // half an ulp of the product before the bias: bounded by 2⁻²⁴·(|r| + |bias|) ≤ 2⁻²⁴·(|r| + 1) here
    if (!(Math.abs(g - r) <= 2 ** -24 * (Math.abs(r) + 1)))
      assert.unreachable(`${label}: element ${i} got ${g} want ${r} (${ulps(g, r)} ulps)`);
  }
}

async function check(M: number, N: number, K: number, seed: number, special = false): Promise<void> {
  const label = `M${M} N${N} K${K}`;
  const want = await run(cpu, M, N, K, seed, special),
    got = await run(gpu!, M, N, K, seed, special);
  expectInt8Close(got.y, want.y, `${label} forward`);
  expectInt8Close(got.dx, want.dx, `${label} dx = dy·W`);
  if (special && M > 2) {
    assert.ok(Number.isNaN(got.y[2 * N]!), `${label}: the row holding NaN comes out NaN`);
    assert.is(got.dx[0], 0, `${label}: a zero cotangent row gives dx 0`);
  }
}

if (gpu) {
  test('BERT-like shapes: whole and partial 32×32 tiles, K a multiple of 4', async () => {
    await check(84, 128, 64, 1);
    await check(33, 64, 48, 2);
    await check(8, 256, 128, 3);
    await check(5, 40, 3072, 7); // K = 3072: integer sums past 2²⁴, rounded once on the i32 → f32 conversion
  });

  test('ragged shapes: partial words, one row, a row of zeros and a row holding NaN', async () => {
    await check(1, 5, 7, 4);
    await check(7, 13, 37, 5, true);
    await check(65, 30, 33, 6, true);
  });

  test('random shapes (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 90 }),
        fc.integer({ min: 0, max: 1000 }),
        (M, N, K, seed) => check(M, N, K, 100 + seed, seed % 2 === 0),
      ),
      RUNS(20),
    );
  });

  test('reports the largest difference (ulps; 0 = bit for bit)', () => {
    console.log(`webgpu int8: largest difference from the oracle ${worstUlps} ulp`);
  });

  test('without the WGSL feature int8 storage is refused, naming it', async () => {
    const { createWebGpuBackend } = await import('../../core/backend/webgpu/index.ts');
    const plain = await createWebGpuBackend({ log: () => {}, int8: false });
    try {
      assert.ok(plain.int8Refusal?.includes('packed_4x8_integer_dot_product'));
      assert.throws(
        () => int8Weight(plain, quantizeWeights(values(1, 8, -1, 1), 2, 4), [2, 4], 'dense'),
        /int8 weight storage.*packed_4x8_integer_dot_product/,
      );
    } finally {
      plain.destroy();
    }
  });
}

test.run();
