/**
 * Parity: f16-storage matmul (operands widened to f32 at the load, f32 accumulation) and the f32 ↔ f16
 * casts on WebGPU vs the CPU reference.
 *
 * Each f16 operand is rounded to half by the backend's own cast (GPU: kernels/wgsl/half.ts, CPU:
 * core/tensor/half.ts) and the casts are first held to each other bit for bit (tolerance 0). The
 * reference product is then f64 over the CPU's halves, so both sides multiply the very same numbers
 * and the f32 kernel's tolerance tolFor(K) applies unchanged: the difference left is f32 products and
 * accumulation order, as for the f32 kernel.
 */
import fc from 'fast-check';
import * as assert from 'uvu/assert';
import { cast, matmul, mul, sum, tensor, vjp, type AnyTensor, type Backend, type Tensor } from '../../core/index.ts';
import { createWebGpuBackend } from '../../core/backend/webgpu/index.ts';
import { tolFor } from '../../kernels/wgsl/matmul.ts';
import { expectClose } from '../support/close.ts';
import { cpu, expectParity, gpuSuite, RUNS, sizeOf, values } from './harness.ts';
import { caseArb, caseShapes, edgeCases, label, type Case } from './matmul-cases.ts';

const { test, gpu } = await gpuSuite('matmul f16 parity');

type Half = 'a' | 'b' | 'ab';
const halfArb = fc.constantFrom<Half>('a', 'b', 'ab');

/** The operand as the backend stores it: f16 when `half`, else f32. */
const stored = (bk: Backend, data: Float32Array, shape: number[], half: boolean): AnyTensor =>
  half ? cast(tensor(bk, data, { shape }), 'f16') : tensor(bk, data, { shape });
/** The CPU reference operand: f64 of exactly the values the f16 (or f32) storage holds. */
const reference = (data: Float32Array, shape: number[], half: boolean): Tensor =>
  cast(stored(cpu, data, shape, half), 'f64');

async function check(g: Backend, c: Case, half: Half, tag: string): Promise<void> {
  const { aShape, bShape } = caseShapes(c);
  const a = values(c.seed, sizeOf(aShape), -1, 1),
    b = values(c.seed + 1, sizeOf(bShape), -1, 1);
  const ha = half !== 'b',
    hb = half !== 'a';
  const got = matmul(stored(g, a, aShape, ha), stored(g, b, bShape, hb), c.tA, c.tB);
  const ref = matmul(reference(a, aShape, ha), reference(b, bShape, hb), c.tA, c.tB);
  await expectParity(got, ref, tolFor(c.K), `${tag} f16:${half} ${label(c)}`);
}

/** Ordinary values plus every IEEE corner of the rounding: ties, subnormals, overflow, NaN, ±0, ±Inf. */
const SPECIAL = [
  0,
  -0,
  1,
  -1,
  1 + 2 ** -11,
  1 + 3 * 2 ** -11,
  65504,
  65519.99,
  65520,
  -65520,
  1e6,
  2 ** -14,
  2 ** -24,
  2 ** -25,
  1.5 * 2 ** -25,
  3 * 2 ** -26,
  2 ** -26,
  1e-10,
  NaN,
  Infinity,
  -Infinity,
  0.1,
  -0.3,
  1 / 3,
];

if (gpu) {
  const g = gpu;
  const naive = await createWebGpuBackend({ matmul: 'naive', log: () => {} });
  const noF16 = await createWebGpuBackend({ f16: false, log: () => {} });
  test.after(() => {
    naive.destroy();
    noF16.destroy();
  });

  test('the device reports shader-f16 and stores f16', () => {
    assert.ok(g.supportsF16, 'lavapipe and current GPUs have shader-f16; this adapter does not');
    assert.ok(g.dtypes.has('f16'));
  });

  test('cast f32 → f16 → f32 is bit-identical to the CPU reference (specials and random, odd lengths)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(1 << 20),
        fc.integer({ min: 1, max: 700 }),
        fc.double({ min: 1e-9, max: 1e5, noNaN: true }),
        async (seed, n, scale) => {
          const data = Float32Array.from([...values(seed, n, -scale, scale), ...SPECIAL]);
          // the halves as stored (read back through decodeHalf), then widened on the device by the f16 → f32 kernel
          expectClose(
            await cast(tensor(g, data), 'f16').data(),
            cast(tensor(cpu, data), 'f16').dataSync(),
            { atol: 0, rtol: 0 },
            `f16 read-back, n=${data.length}`,
          );
          await expectParity(
            cast(cast(tensor(g, data), 'f16'), 'f32'),
            cast(cast(tensor(cpu, data), 'f16'), 'f32'),
            { atol: 0, rtol: 0 },
            `f16 → f32 n=${data.length}`,
          );
        },
      ),
      RUNS(10),
    );
  });

  test('tiled: random M, N, K in 1..150 (+ tile-straddling), every transpose, broadcast batches, f16 a, b or both', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, halfArb, (c, half) => check(g, c, half, 'tiled')),
      RUNS(14),
    );
  });

  test('tiled: fixed edge cases (size 1, exact tiles, 257, K = 1), f16 weights as b', async () => {
    for (const c of edgeCases()) await check(g, c, 'b', 'tiled');
  });

  test('naive v1 with f16 operands agrees too', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, halfArb, (c, half) => check(naive, c, half, 'naive')),
      RUNS(6),
    );
  });

  test('backward through a frozen f16 weight: dX = dY·W matches the CPU reference', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 90 }),
        fc.integer({ min: 1, max: 80 }),
        fc.nat(1 << 20),
        async (T, d, out, seed) => {
          const xs = values(seed, T * d, -1, 1),
            ws = values(seed + 1, out * d, -1, 1),
            cs = values(seed + 2, T * out, -1, 1);
          // linear without bias: y = x·Wᵀ, W [out, d] stored f16; loss-like output Σ y ⊙ c
          const dx = (bk: Backend, w: AnyTensor, x: Tensor, c: Tensor): Tensor => {
            const [y, pull] = vjp((xx: Tensor) => sum(mul(matmul(xx, w, false, true), c)), x);
            return pull(cast(tensor(bk, [1], { shape: [] }), y.dtype));
          };
          const got = dx(
            g,
            stored(g, ws, [out, d], true),
            tensor(g, xs, { shape: [T, d] }),
            tensor(g, cs, { shape: [T, out] }),
          );
          const ref = dx(
            cpu,
            reference(ws, [out, d], true),
            tensor(cpu, Float64Array.from(xs), { shape: [T, d] }),
            tensor(cpu, Float64Array.from(cs), { shape: [T, out] }),
          );
          await expectParity(got, ref, tolFor(out), `dX T${T} d${d} out${out}`);
        },
      ),
      RUNS(6),
    );
  });

  test('without shader-f16, asking for f16 throws and says why (no silent f32)', () => {
    assert.is(noF16.supportsF16, false);
    assert.throws(() => cast(tensor(noF16, [1, 2]), 'f16'), /cast: the webgpu backend has no f16 storage/);
    assert.throws(() => noF16.cast(tensor(noF16, [1, 2]), 'f16'), /shader-f16/);
  });
}

test.run();
