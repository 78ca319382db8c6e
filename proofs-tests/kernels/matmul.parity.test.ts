/** Parity: batched matmul, all transposes, broadcast batches, tiled (64 and 32 tiles) and naive v1 vs matmulRef. */
import fc from 'fast-check';
import { matmul, matmulBias, Tensor } from '../../core/index.ts';
import { createWebGpuBackend } from '../../core/backend/webgpu/index.ts';
import { matmulTiledProgram, TILE_32, tolFor } from '../../kernels/wgsl/matmul.ts';
import { expectParity, gpuSuite, pair, RUNS, sizeOf, values } from './harness.ts';
import { caseArb, caseShapes, edgeCases, label, type Case } from './matmul-cases.ts';

const { test, gpu } = await gpuSuite('matmul parity');

function operands(gpuBk: NonNullable<typeof gpu>, c: Case) {
  const { aShape, bShape } = caseShapes(c);
  return {
    a: pair(gpuBk, values(c.seed, sizeOf(aShape), -1, 1), aShape),
    b: pair(gpuBk, values(c.seed + 1, sizeOf(bShape), -1, 1), bShape),
  };
}

if (gpu) {
  const g = gpu;
  const naive = await createWebGpuBackend({ matmul: 'naive', log: () => {} });
  test.after(() => naive.destroy());

  test('tiled: random M, N, K in 1..150 (+ tile-straddling), every transpose, broadcast batches', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const {
          a: [ca, wa],
          b: [cb, wb],
        } = operands(g, c);
        await expectParity(matmul(wa, wb, c.tA, c.tB), matmul(ca, cb, c.tA, c.tB), tolFor(c.K), label(c));
      }),
      RUNS(14),
    );
  });

  test('x·wᵀ + bias (matmulBias, a Linear layer in one dispatch), tiled and naive: odd sizes and K = 1', async () => {
    for (const bk of [g, naive]) {
      for (const [M, K, N] of [
        [1, 1, 1],
        [37, 65, 129],
        [84, 256, 1024],
        [5, 1, 3],
      ] as const) {
        const [cx, gx] = pair(bk, values(M + K, M * K, -1, 1), [M, K]),
          [cw, gw] = pair(bk, values(N + K, N * K, -1, 1), [N, K]),
          [cb, gb] = pair(bk, values(N, N, -1, 1), [N]);
        await expectParity(
          matmulBias(gx, gw, gb),
          matmulBias(cx, cw, cb),
          tolFor(K),
          `${bk === g ? 'tiled' : 'naive'} [${M}, ${K}]·[${N}, ${K}]ᵀ + bias`,
        );
      }
    }
  });

  test('tiled: fixed edge cases (size 1, exact tiles, 257, K = 1)', async () => {
    for (const c of edgeCases()) {
      const {
        a: [ca, wa],
        b: [cb, wb],
      } = operands(g, c);
      await expectParity(matmul(wa, wb, c.tA, c.tB), matmul(ca, cb, c.tA, c.tB), tolFor(c.K), label(c));
    }
  });

  test('tiled with the 32×32 tile (small-adapter fallback)', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const {
          a: [ca, wa],
          b: [cb, wb],
        } = operands(g, c);
        const ref = matmul(ca, cb, c.tA, c.tB);
        const out = g.rt.alloc(sizeOf(ref.shape) * 4);
        g.rt.run(
          matmulTiledProgram(
            { aShape: wa.shape, bShape: wb.shape, outShape: ref.shape },
            { transA: c.tA, transB: c.tB },
            TILE_32,
          ),
          [wa.id, wb.id],
          [out],
        );
        await expectParity(new Tensor(g, out, ref.shape, 'f32'), ref, tolFor(c.K), `tile32 ${label(c)}`);
      }),
      RUNS(8),
    );
  });

  test('naive v1 agrees too', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const {
          a: [ca, wa],
          b: [cb, wb],
        } = operands(naive, c);
        await expectParity(matmul(wa, wb, c.tA, c.tB), matmul(ca, cb, c.tA, c.tB), tolFor(c.K), `naive ${label(c)}`);
      }),
      RUNS(8),
    );
  });
}

test.run();
