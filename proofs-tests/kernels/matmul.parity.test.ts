/** Parity: batched matmul, all transposes, broadcast batches, tiled (64 and 32 tiles) and naive v1 vs matmulRef. */
import fc from 'fast-check';
import { matmul, Tensor } from '../../core/index.ts';
import { createWebGpuBackend } from '../../core/backend/webgpu/index.ts';
import { matmulTiledProgram, TILE_32, tolFor } from '../../kernels/wgsl/matmul.ts';
import { expectParity, gpuSuite, pair, RUNS, sizeOf, values } from './harness.ts';

const { test, gpu } = await gpuSuite('matmul parity');

interface Case { M: number; N: number; K: number; tA: boolean; tB: boolean; aBatch: number[]; bBatch: number[]; seed: number }

const dim = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 150 }) }, { weight: 1, arbitrary: fc.constantFrom(1, 63, 64, 65, 255, 257) });
const batchArb = fc.constantFrom<[number[], number[]]>([[], []], [[2], [2]], [[3], []], [[], [2]], [[2, 1], [1, 3]], [[1], [2]]);
const caseArb: fc.Arbitrary<Case> = fc.record({
  M: dim, N: dim, K: dim, tA: fc.boolean(), tB: fc.boolean(), seed: fc.nat(1 << 20),
  batches: batchArb,
}).map(({ batches, ...r }) => ({ ...r, aBatch: batches[0], bBatch: batches[1] }));

function operands(gpuBk: NonNullable<typeof gpu>, c: Case) {
  const aShape = [...c.aBatch, ...(c.tA ? [c.K, c.M] : [c.M, c.K])];
  const bShape = [...c.bBatch, ...(c.tB ? [c.N, c.K] : [c.K, c.N])];
  return { a: pair(gpuBk, values(c.seed, sizeOf(aShape), -1, 1), aShape), b: pair(gpuBk, values(c.seed + 1, sizeOf(bShape), -1, 1), bShape) };
}
const label = (c: Case) => `${c.tA ? 'T' : 'N'}${c.tB ? 'T' : 'N'} M${c.M} N${c.N} K${c.K} batch ${JSON.stringify(c.aBatch)}×${JSON.stringify(c.bBatch)}`;

if (gpu) {
  const g = gpu;
  const naive = await createWebGpuBackend({ matmul: 'naive', log: () => {} });
  test.after(() => naive.destroy());

  test('tiled: random M, N, K in 1..150 (+ tile-straddling), every transpose, broadcast batches', async () => {
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const { a: [ca, wa], b: [cb, wb] } = operands(g, c);
      await expectParity(matmul(wa, wb, c.tA, c.tB), matmul(ca, cb, c.tA, c.tB), tolFor(c.K), label(c));
    }), RUNS(14));
  });

  test('tiled: fixed edge cases (size 1, exact tiles, 257, K = 1)', async () => {
    const cases: Case[] = [];
    for (const [M, N, K] of [[1, 1, 1], [64, 64, 16], [257, 65, 130], [3, 257, 1], [1, 200, 300], [128, 1, 64]] as [number, number, number][]) {
      for (const tA of [false, true]) for (const tB of [false, true]) cases.push({ M, N, K, tA, tB, aBatch: [], bBatch: [], seed: M + N + K });
    }
    for (const c of cases) {
      const { a: [ca, wa], b: [cb, wb] } = operands(g, c);
      await expectParity(matmul(wa, wb, c.tA, c.tB), matmul(ca, cb, c.tA, c.tB), tolFor(c.K), label(c));
    }
  });

  test('tiled with the 32×32 tile (small-adapter fallback)', async () => {
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const { a: [ca, wa], b: [cb, wb] } = operands(g, c);
      const ref = matmul(ca, cb, c.tA, c.tB);
      const out = g.rt.alloc(sizeOf(ref.shape) * 4);
      g.rt.run(matmulTiledProgram({ aShape: wa.shape, bShape: wb.shape, outShape: ref.shape }, { transA: c.tA, transB: c.tB }, TILE_32), [wa.id, wb.id], [out]);
      await expectParity(new Tensor(g, out, ref.shape, 'f32'), ref, tolFor(c.K), `tile32 ${label(c)}`);
    }), RUNS(8));
  });

  test('naive v1 agrees too', async () => {
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const { a: [ca, wa], b: [cb, wb] } = operands(naive, c);
      await expectParity(matmul(wa, wb, c.tA, c.tB), matmul(ca, cb, c.tA, c.tB), tolFor(c.K), `naive ${label(c)}`);
    }), RUNS(8));
  });
}

test.run();
