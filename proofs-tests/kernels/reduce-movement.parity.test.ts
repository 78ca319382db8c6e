/**
 * Parity: reductions (kernels/wgsl/reduce.ts), strided / pad / concat (movement.ts) and
 * gather / scatterAdd / oneHot (gather.ts) vs the CPU reference.
 */
import fc from 'fast-check';
import {
  argmax,
  broadcastTo,
  concat,
  gather,
  max,
  min,
  oneHot,
  pad,
  permute,
  scatterAdd,
  slice,
  sum,
  Tensor,
} from '../../core/index.ts';
import { TOL as GATHER_TOL } from '../../kernels/wgsl/gather.ts';
import { TOL as MOVE_TOL } from '../../kernels/wgsl/movement.ts';
import { TOL as REDUCE_TOL } from '../../kernels/wgsl/reduce.ts';
import { cpu, expectParity, gpuSuite, ints, pair, RUNS, sizeOf, values } from './harness.ts';

const { test, gpu } = await gpuSuite('reduce / movement / gather parity');

const shapeArb = (maxRank: number, maxDim: number) =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: 1, maxLength: maxRank });
const EXACT = { atol: 0, rtol: 0 };

if (gpu) {
  const g = gpu;

  test('sum / max / min over random axis subsets (serial and tree variants)', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(4, 9),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.nat(1 << 20),
        async (shape, pick, seed) => {
          const axes = shape.map((_, i) => i).filter((i) => pick[i]);
          const [c, w] = pair(g, values(seed, sizeOf(shape)), shape);
          for (const [name, f] of [
            ['sum', sum],
            ['max', max],
            ['min', min],
          ] as const) {
            await expectParity(
              f(w, axes),
              f(c, axes),
              REDUCE_TOL,
              `${name} ${JSON.stringify(shape)} axes ${JSON.stringify(axes)}`,
            );
          }
        },
      ),
      RUNS(12),
    );
  });

  test('long reductions (tree), all axes, NaN propagation, i32 sums', async () => {
    for (const [shape, axes] of [
      [[3, 1000], [1]],
      [[700, 5], [0]],
      [
        [4, 33, 17],
        [0, 2],
      ],
      [[2049], [0]],
    ] as const) {
      const [c, w] = pair(g, values(shape.length, sizeOf(shape)), shape);
      for (const f of [sum, max, min])
        await expectParity(f(w, [...axes]), f(c, [...axes]), REDUCE_TOL, `${f.name} ${JSON.stringify(shape)}`);
    }
    const nan = new Float32Array(300).fill(1);
    nan[123] = NaN;
    const [cn, wn] = pair(g, nan, [300]);
    await expectParity(max(wn), max(cn), EXACT, 'max NaN');
    const [ci, wi] = pair(g, ints(5, 600, -50, 50), [20, 30]);
    for (const axes of [[0], [1], [0, 1]]) await expectParity(sum(wi, axes), sum(ci, axes), EXACT, `i32 sum ${axes}`);
    await expectParity(max(wi, 1), max(ci, 1), EXACT, 'i32 max');
  });

  test('argmax along each axis, with ties', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(3, 12), fc.nat(1 << 20), async (shape, seed) => {
        const data = Float32Array.from(ints(seed, sizeOf(shape), 0, 4)); // many ties: first index wins
        const [c, w] = pair(g, data, shape);
        for (let ax = 0; ax < shape.length; ax++)
          await expectParity(argmax(w, ax), argmax(c, ax), EXACT, `argmax ${JSON.stringify(shape)} @${ax}`);
      }),
      RUNS(8),
    );
  });

  test('strided: permute, broadcast, slice', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(5, 6), fc.nat(1 << 20), async (shape, seed) => {
        const [c, w] = pair(g, values(seed, sizeOf(shape)), shape);
        const perm = shape.map((_, i) => i).sort((a, b) => ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13));
        await expectParity(permute(w, perm), permute(c, perm), MOVE_TOL, `permute ${JSON.stringify(shape)} ${perm}`);
        const begin = shape.map((d) => Math.floor(d / 3));
        const size = shape.map((d, i) => d - begin[i]! - (d > 2 ? 1 : 0));
        await expectParity(slice(w, begin, size), slice(c, begin, size), MOVE_TOL, `slice ${JSON.stringify(shape)}`);
        const small = [shape.length, ...shape.slice(1).map(() => 1)],
          big = [2, shape.length, ...shape.slice(1)];
        const [c1, w1] = pair(g, values(seed, shape.length), small);
        await expectParity(
          broadcastTo(w1, big),
          broadcastTo(c1, big),
          MOVE_TOL,
          `broadcast ${JSON.stringify(small)} → ${JSON.stringify(big)}`,
        );
      }),
      RUNS(10),
    );
  });

  test('pad and concat (f32 and i32), all axes', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(4, 7), fc.nat(1 << 20), async (shape, seed) => {
        const [c, w] = pair(g, values(seed, sizeOf(shape)), shape);
        const before = shape.map((_, i) => (seed >> i) % 3),
          after = shape.map((_, i) => (seed >> (i + 4)) % 2);
        await expectParity(
          pad(w, before, after, -1.5),
          pad(c, before, after, -1.5),
          MOVE_TOL,
          `pad ${JSON.stringify(shape)}`,
        );
        const [ci, wi] = pair(g, ints(seed, sizeOf(shape), -9, 9), shape);
        await expectParity(pad(wi, before, after, 7), pad(ci, before, after, 7), MOVE_TOL, 'pad i32');
        for (let ax = 0; ax < shape.length; ax++) {
          const other = shape.map((d, i) => (i === ax ? (seed % 4) + 1 : d));
          const [c2, w2] = pair(g, values(seed + 3, sizeOf(other)), other);
          await expectParity(
            concat([w, w2, w], ax),
            concat([c, c2, c], ax),
            MOVE_TOL,
            `concat ${JSON.stringify(shape)} @${ax}`,
          );
        }
      }),
      RUNS(8),
    );
  });

  test('gather, scatterAdd (repeated indices), oneHot (out-of-range → zero row)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        shapeArb(2, 5),
        shapeArb(2, 6),
        fc.nat(1 << 20),
        async (rows, rest, idxShape, seed) => {
          const [ct, wt] = pair(g, values(seed, rows * sizeOf(rest)), [rows, ...rest]);
          const [ci, wi] = pair(g, ints(seed + 1, sizeOf(idxShape), 0, rows), idxShape);
          await expectParity(
            gather(wt, wi),
            gather(ct, ci),
            EXACT,
            `gather ${rows}x${JSON.stringify(rest)} by ${JSON.stringify(idxShape)}`,
          );
          const [cu, wu] = pair(g, values(seed + 2, sizeOf(idxShape) * sizeOf(rest)), [...idxShape, ...rest]);
          await expectParity(scatterAdd(wi, wu, rows), scatterAdd(ci, cu, rows), GATHER_TOL, 'scatterAdd');
          const [co, wo] = pair(g, ints(seed + 3, sizeOf(idxShape), -1, rows + 1), idxShape);
          await expectParity(oneHot(wo, rows), oneHot(co, rows, 'f64'), EXACT, 'oneHot');
          await expectParity(oneHot(wo, rows, 'i32'), oneHot(co, rows, 'i32'), EXACT, 'oneHot i32');
        },
      ),
      RUNS(10),
    );
  });

  test('takeRows (moveRows): index −1 gives a zero row, the rest exact; large enough to span many workgroups', async () => {
    for (const [rows, width, n] of [
      [5, 3, 7],
      [620, 64, 2000],
      [1, 1, 1],
    ] as const) {
      const [ct, wt] = pair(g, values(rows + width, rows * width), [rows, width]);
      const idx = Int32Array.from({ length: n }, (_, i) => (i % 5 === 4 ? -1 : (i * 7) % rows));
      const [ci, wi] = pair(g, idx, [n]);
      await expectParity(
        new Tensor(g, g.takeRows(wt, wi), [n, width], 'f32'),
        new Tensor(cpu, cpu.takeRows(ct, ci), [n, width], 'f64'),
        EXACT,
        `takeRows ${rows}×${width} by ${n}`,
      );
    }
  });

  test('gather: an out-of-range index gives a NaN row on the GPU (the CPU throws), the other rows exact', async () => {
    const [ct, wt] = pair(g, values(7, 3 * 4), [3, 4]);
    const got = await gather(wt, pair(g, new Int32Array([2, 3, -1, 0]), [4])[1]).data();
    const want = gather(ct, pair(g, new Int32Array([2, 0]), [2])[0]).dataSync();
    for (let j = 0; j < 4; j++) {
      if (got[j] !== Math.fround(want[j]!) || got[12 + j] !== Math.fround(want[4 + j]!))
        throw new Error(`in-range rows differ at column ${j}`);
      if (!Number.isNaN(got[4 + j]) || !Number.isNaN(got[8 + j]))
        throw new Error(`out-of-range rows: want NaN, got ${got[4 + j]}, ${got[8 + j]}`);
    }
    let threw = false;
    try {
      gather(ct, pair(g, new Int32Array([3]), [1])[0]);
    } catch {
      threw = true;
    }
    if (!threw) throw new Error('the CPU reference should throw on index 3 of 3 rows');
  });
}

test.run();
