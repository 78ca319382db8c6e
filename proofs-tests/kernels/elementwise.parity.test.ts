/** Parity: unary / broadcasting binary / compare / where / cast / fill (kernels/wgsl/elementwise.ts) vs the CPU reference. */
import fc from 'fast-check';
import { binary, cast, compare, full, tensor, unary, where } from '../../core/index.ts';
import { BINARY_OPS, COMPARE_OPS, UNARY_OPS, type UnaryOp } from '../../core/backend/backend.ts';
import { TOL } from '../../kernels/wgsl/elementwise.ts';
import { cpu, expectParity, gpuSuite, ints, pair, RUNS, sizeOf, values } from './harness.ts';

const { test, gpu } = await gpuSuite('elementwise parity');

/** An output shape and, per operand, a broadcastable shape (dims set to 1 or leading dims dropped). */
const bcastArb = (operands: number) =>
  fc
    .tuple(
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 0, maxLength: 5 }),
      fc.array(fc.tuple(fc.nat(5), fc.array(fc.boolean(), { minLength: 5, maxLength: 5 })), {
        minLength: operands,
        maxLength: operands,
      }),
      fc.nat(1 << 20),
    )
    .map(([out, ops, seed]) => ({
      out,
      shapes: ops.map(([drop, ones]) => out.slice(Math.min(drop, out.length)).map((d, i) => (ones[i] ? 1 : d))),
      seed,
    }));

// inputs away from each op's poles and branch points
const DOMAIN: Partial<Record<UnaryOp, [number, number]>> = {
  log: [0.05, 4],
  sqrt: [0, 4],
  rsqrt: [0.05, 4],
  log1p: [-0.9, 4],
  recip: [0.1, 3],
  exp: [-8, 8],
  sin: [-6, 6],
  cos: [-6, 6],
};

if (gpu) {
  const g = gpu;

  test('unary f32: every op over random shapes', async () => {
    for (const op of UNARY_OPS) {
      await fc.assert(
        fc.asyncProperty(bcastArb(0), async ({ out, seed }) => {
          const [lo, hi] = DOMAIN[op] ?? [-4, 4];
          const [c, w] = pair(g, values(seed, sizeOf(out), lo, hi), out);
          await expectParity(unary(op, w), unary(op, c), TOL, `${op} ${JSON.stringify(out)}`);
        }),
        RUNS(3),
      );
    }
  });

  test('unary f32: extremes, NaN and infinities', async () => {
    const xs = new Float32Array([
      0,
      -0,
      1e-8,
      -1e-8,
      1e-30,
      50,
      -50,
      100,
      -100,
      1e30,
      -1e30,
      Infinity,
      -Infinity,
      NaN,
      0.5,
      -3.5,
    ]);
    for (const op of [
      'neg',
      'abs',
      'sign',
      'tanh',
      'sigmoid',
      'relu',
      'step',
      'erf',
      'gelu',
      'geluGrad',
      'square',
      'log1p',
    ] as const) {
      const [c, w] = pair(g, xs, [xs.length]);
      await expectParity(unary(op, w), unary(op, c), { atol: 2e-6, rtol: 2e-5 }, `${op} extremes`);
    }
  });

  test('binary f32: every op with numpy broadcasting', async () => {
    for (const op of BINARY_OPS) {
      await fc.assert(
        fc.asyncProperty(bcastArb(2), async ({ shapes, seed }) => {
          const [sa, sb] = shapes as [number[], number[]];
          const lo = op === 'pow' ? 0.1 : -3;
          const [ca, wa] = pair(g, values(seed, sizeOf(sa), lo, 3), sa);
          const [cb, wb] = pair(g, values(seed + 1, sizeOf(sb), op === 'div' ? 0.5 : -3, 3), sb);
          await expectParity(
            binary(op, wa, wb),
            binary(op, ca, cb),
            TOL,
            `${op} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`,
          );
        }),
        RUNS(4),
      );
    }
  });

  test('binary f32: pow of negative bases, NaN-propagating max/min', async () => {
    const a = new Float32Array([-2, -2, -0.5, 0, 0, 3, NaN, 1, -1, 2]);
    const b = new Float32Array([3, 2, -3, 2, -1, 0, 1, NaN, 2.5, -Infinity]);
    for (const op of ['pow', 'max', 'min', 'add', 'mul', 'div'] as const) {
      const [ca, wa] = pair(g, a, [a.length]);
      const [cb, wb] = pair(g, b, [b.length]);
      await expectParity(binary(op, wa, wb), binary(op, ca, cb), TOL, `${op} specials`);
    }
  });

  test('i32: unary, binary (incl. division by zero, wrapping), compare', async () => {
    const a = new Int32Array([7, -7, 0, 5, -2147483648, 2147483647, 3, -9, 1, -1]);
    const b = new Int32Array([2, 2, 3, 0, -1, 1, -2, 4, -5, 31]);
    for (const op of ['neg', 'abs', 'sign', 'square', 'relu', 'step'] as const) {
      // square of ±2³¹-ish: the CPU squares in doubles (rounded before wrapping), the GPU wraps exactly
      const [c, w] = pair(
        g,
        a.map((v) => (Math.abs(v) > 46340 ? 46340 : v)),
        [a.length],
      );
      await expectParity(unary(op, w), unary(op, c), { atol: 0, rtol: 0 }, `i32 ${op}`);
    }
    for (const op of BINARY_OPS) {
      const [ca, wa] = pair(g, a, [a.length]);
      const [cb, wb] = pair(g, op === 'pow' ? b.map((v) => Math.min(v, 4)) : b, [b.length]);
      await expectParity(binary(op, wa, wb), binary(op, ca, cb), { atol: 0, rtol: 0 }, `i32 ${op}`);
    }
  });

  test('compare f32 and i32 with ties and broadcasting', async () => {
    for (const op of COMPARE_OPS) {
      await fc.assert(
        fc.asyncProperty(bcastArb(2), fc.boolean(), async ({ shapes, seed }, int) => {
          const [sa, sb] = shapes as [number[], number[]];
          // integer-valued data so equality actually happens
          const da = int ? ints(seed, sizeOf(sa), -2, 3) : Float32Array.from(ints(seed, sizeOf(sa), -2, 3));
          const db = int ? ints(seed + 7, sizeOf(sb), -2, 3) : Float32Array.from(ints(seed + 7, sizeOf(sb), -2, 3));
          const [ca, wa] = pair(g, da, sa);
          const [cb, wb] = pair(g, db, sb);
          await expectParity(
            compare(op, wa, wb),
            compare(op, ca, cb),
            { atol: 0, rtol: 0 },
            `${op} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`,
          );
        }),
        RUNS(3),
      );
    }
    const nan = new Float32Array([NaN, 1, NaN]);
    const one = new Float32Array([1, 1, NaN]);
    for (const op of COMPARE_OPS) {
      const [ca, wa] = pair(g, nan, [3]);
      const [cb, wb] = pair(g, one, [3]);
      await expectParity(compare(op, wa, wb), compare(op, ca, cb), { atol: 0, rtol: 0 }, `${op} NaN`);
    }
  });

  test('where: broadcast over all three operands, i32 and f32 conditions', async () => {
    await fc.assert(
      fc.asyncProperty(bcastArb(3), fc.boolean(), async ({ shapes, seed }, floatCond) => {
        const [sc, sa, sb] = shapes as [number[], number[], number[]];
        const cd = ints(seed, sizeOf(sc), 0, 2);
        const [cc, wc] = pair(g, floatCond ? Float32Array.from(cd) : cd, sc);
        const [ca, wa] = pair(g, values(seed + 1, sizeOf(sa)), sa);
        const [cb, wb] = pair(g, values(seed + 2, sizeOf(sb)), sb);
        await expectParity(
          where(wc, wa, wb),
          where(cc, ca, cb),
          { atol: 0, rtol: 0 },
          `where ${JSON.stringify(shapes)}`,
        );
      }),
      RUNS(6),
    );
  });

  test('cast f32 ↔ i32 and fill', async () => {
    const xs = new Float32Array([0, -0.5, 0.5, 1.9, -1.9, 1e6, -123456.7, 3]);
    const [c, w] = pair(g, xs, [8]);
    await expectParity(cast(w, 'i32'), cast(c, 'i32'), { atol: 0, rtol: 0 }, 'cast f32→i32');
    const [ci, wi] = pair(g, new Int32Array([0, -5, 7, 1 << 24, -(1 << 20)]), [5]);
    await expectParity(cast(wi, 'f32'), cast(ci, 'f64'), { atol: 0, rtol: 0 }, 'cast i32→f32');
    for (const [v, dt] of [
      [0, 'f32'],
      [-0, 'f32'],
      [2.5, 'f32'],
      [-7, 'i32'],
      [0, 'i32'],
    ] as const) {
      await expectParity(
        full(g, [3, 5], v, dt),
        full(cpu, [3, 5], v, dt === 'f32' ? 'f64' : dt),
        { atol: 0, rtol: 0 },
        `fill ${v} ${dt}`,
      );
    }
    const w0 = tensor(g, new Float32Array(0), { shape: [0, 3] });
    await expectParity(
      unary('exp', w0),
      unary('exp', tensor(cpu, new Float64Array(0), { shape: [0, 3], dtype: 'f64' })),
      TOL,
      'empty',
    );
  });

  test('f64 is refused with UnsupportedOp', () => {
    let threw = '';
    try {
      g.fill(3, 1, 'f64');
    } catch (e) {
      threw = (e as Error).name;
    }
    if (threw !== 'UnsupportedOp') throw new Error(`expected UnsupportedOp, got ${threw || 'no error'}`);
  });
}

test.run();
