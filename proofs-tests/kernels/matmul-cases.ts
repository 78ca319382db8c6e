/** Matmul parity cases shared by the f32 and f16 suites: random and tile-straddling sizes, every transpose, broadcast batches. */
import fc from 'fast-check';

export interface Case {
  M: number;
  N: number;
  K: number;
  tA: boolean;
  tB: boolean;
  aBatch: number[];
  bBatch: number[];
  seed: number;
}

const dim = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 150 }) },
  { weight: 1, arbitrary: fc.constantFrom(1, 63, 64, 65, 255, 257) },
);
const batchArb = fc.constantFrom<[number[], number[]]>(
  [[], []],
  [[2], [2]],
  [[3], []],
  [[], [2]],
  [
    [2, 1],
    [1, 3],
  ],
  [[1], [2]],
);
export const caseArb: fc.Arbitrary<Case> = fc
  .record({
    M: dim,
    N: dim,
    K: dim,
    tA: fc.boolean(),
    tB: fc.boolean(),
    seed: fc.nat(1 << 20),
    batches: batchArb,
  })
  .map(({ batches, ...r }) => ({ ...r, aBatch: batches[0], bBatch: batches[1] }));

/** Size 1, exact tiles, 257, K = 1, each under all four transposes. */
export function edgeCases(): Case[] {
  const cases: Case[] = [];
  for (const [M, N, K] of [
    [1, 1, 1],
    [64, 64, 16],
    [257, 65, 130],
    [3, 257, 1],
    [1, 200, 300],
    [128, 1, 64],
  ] as [number, number, number][]) {
    for (const tA of [false, true])
      for (const tB of [false, true]) cases.push({ M, N, K, tA, tB, aBatch: [], bBatch: [], seed: M + N + K });
  }
  return cases;
}

/** Stored operand shapes of a case (a transposed operand is stored [K, M] / [N, K]). */
export const caseShapes = (c: Case) => ({
  aShape: [...c.aBatch, ...(c.tA ? [c.K, c.M] : [c.M, c.K])],
  bShape: [...c.bBatch, ...(c.tB ? [c.N, c.K] : [c.K, c.N])],
});

export const label = (c: Case) =>
  `${c.tA ? 'T' : 'N'}${c.tB ? 'T' : 'N'} M${c.M} N${c.N} K${c.K} batch ${JSON.stringify(c.aBatch)}×${JSON.stringify(c.bBatch)}`;
