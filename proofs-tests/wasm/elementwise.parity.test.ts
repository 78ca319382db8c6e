/** Parity: WASM SIMD broadcasting binary ops and GELU / GELU' vs the f64 CPU reference. */
import fc from 'fast-check';
import { suite } from 'uvu';
import { binary, unary } from '../../core/index.ts';
import { BINARY_WASM } from '../../core/backend/wasm/elementwise.ts';
import { expectParity, pair, RUNS, sizeOf, values, wasm } from './harness.ts';

const test = suite('wasm elementwise parity');
test.after(() => wasm.dispose());

/** An output shape and two broadcastable operand shapes (dims set to 1 or leading dims dropped). */
const bcastArb = fc
  .tuple(
    fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 0, maxLength: 5 }),
    fc.array(fc.tuple(fc.nat(5), fc.array(fc.boolean(), { minLength: 5, maxLength: 5 })), {
      minLength: 2,
      maxLength: 2,
    }),
    fc.nat(1 << 20),
  )
  .map(([out, ops, seed]) => ({
    out,
    shapes: ops.map(([drop, ones]) => out.slice(Math.min(drop, out.length)).map((d, i) => (ones[i] ? 1 : d))),
    seed,
  }));

test('binary f32: every SIMD op with numpy broadcasting', () => {
  for (const op of BINARY_WASM) {
    fc.assert(
      fc.property(bcastArb, ({ shapes, seed }) => {
        const [sa, sb] = shapes as [number[], number[]];
        const [ac, aw] = pair(values(seed, sizeOf(sa)), sa);
        // divisors away from 0
        const [bc, bw] = pair(values(seed + 1, sizeOf(sb), op === 'div' ? 0.5 : -2, 2), sb);
        expectParity(
          binary(op, aw, bw),
          binary(op, ac, bc),
          { atol: 1e-6, rtol: 1e-6 },
          `${op} ${JSON.stringify(sa)} ∘ ${JSON.stringify(sb)}`,
        );
      }),
      RUNS(40),
    );
  }
});

test('binary f32: BERT-like broadcasts across the thread split (bias row, mask column, scalar)', () => {
  for (const [sa, sb] of [
    [[300, 256], [256]],
    [
      [8, 4, 84, 84],
      [8, 1, 1, 84],
    ],
    [[70001], [1]],
    [[1], [50003]],
    [
      [33, 1027],
      [33, 1],
    ],
  ] as const) {
    const [ac, aw] = pair(values(1, sizeOf(sa)), sa);
    const [bc, bw] = pair(values(2, sizeOf(sb)), sb);
    expectParity(binary('add', aw, bw), binary('add', ac, bc), { atol: 1e-6, rtol: 1e-6 }, `add ${sa} + ${sb}`);
  }
});

test('gelu / geluGrad f32: random sizes, wide range, extremes', () => {
  for (const op of ['gelu', 'geluGrad'] as const) {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.nat(1 << 20), (n, seed) => {
        const [c, w] = pair(values(seed, n, -12, 12), [n]);
        expectParity(unary(op, w), unary(op, c), { atol: 2e-6, rtol: 2e-5 }, `${op} n=${n}`);
      }),
      RUNS(25),
    );
    const xs = new Float32Array([
      0, -0, 1e-8, -1e-8, 1e-30, 5, -5, 9.5, -9.5, 50, -50, 100, -100, 1e30, -1e30, 0.5, -3.5,
    ]);
    const [c, w] = pair(xs, [xs.length]);
    expectParity(unary(op, w), unary(op, c), { atol: 2e-6, rtol: 2e-5 }, `${op} extremes`);
    const big = values(9, 100003, -6, 6); // crosses the parallel threshold and an odd tail
    const [cb, wb] = pair(big, [big.length]);
    expectParity(unary(op, wb), unary(op, cb), { atol: 2e-6, rtol: 2e-5 }, `${op} 100003`);
  }
});

test("geluGrad after gelu on the same input: the forward's kept derivative (then a recomputed one), freed with the input", () => {
  for (const n of [1, 7, 5000, 100003]) {
    const [c, w] = pair(values(n, n, -12, 12), [n]);
    expectParity(unary('gelu', w), unary('gelu', c), { atol: 2e-6, rtol: 2e-5 }, `gelu n=${n}`);
    for (const path of ['kept', 'recomputed']) {
      const ref = unary('geluGrad', c);
      ref.backend.incRef(ref.id); // expectParity disposes it; it serves the next path too
      expectParity(unary('geluGrad', w), ref, { atol: 2e-6, rtol: 2e-5 }, `geluGrad n=${n} (${path})`);
    }
    c.dispose();
    w.dispose();
  }
  const step = (take: boolean) => {
    const [c, w] = pair(values(3, 70000, -6, 6), [70000]);
    unary('gelu', w).dispose();
    if (take) unary('geluGrad', w).dispose();
    c.dispose();
    w.dispose();
  };
  step(true);
  step(false);
  const reserved = wasm.heapBytes;
  for (let i = 0; i < 4; i++) {
    step(true);
    step(false);
  }
  if (wasm.heapBytes !== reserved)
    throw new Error(`heap grew from ${reserved} to ${wasm.heapBytes} bytes: a kept GELU derivative outlived its input`);
});

test.run();
