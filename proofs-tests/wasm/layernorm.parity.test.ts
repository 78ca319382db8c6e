/**
 * Parity: WASM SIMD layerNorm forward / backward / dx-only backward (f32 sums) vs the f64 CPU
 * reference, on 1 and 2 threads. The backward gets the reference's mean / rstd rounded to f32 on both sides, so it is
 * checked on its own rather than through the forward's rounding.
 *
 * Tolerances. Inputs are in [−2, 2) (w, b, dy too). The kernel sums in f32, recursively per v128
 * lane: worst case n·u·Σ|terms| (u = 2⁻²⁴ ≈ 6e-8), but rounding errors of random data add like a
 * random walk, ≈ √n·u. Seen against the f64 reference at C = 1024, 768, 256, 129: y ≤ 8e-7 absolute
 * at |y| ≤ 5.5, dx ≤ 5.3e-7 at |dx| ≤ 3.7, mean / rstd ≤ 1.4e-7. So y, dx, mean, rstd get 1e-5
 * absolute + 1e-5 relative (> 10× that, still far below the worst case). dWeight / dBias sum R rows
 * of O(1) terms into results of size ≈ √R (≤ 2.2e-5 error at R = 672, |ref| ≈ 100): 1e-5·√R
 * absolute + 1e-5 relative.
 */
import fc from 'fast-check';
import { suite } from 'uvu';
import { Tensor } from '../../core/index.ts';
import { createWasmBackend } from '../../core/backend/wasm/index.ts';
import { cpu, expectParity, RUNS, sizeOf, values, wasm } from './harness.ts';
import { expectClose } from '../support/close.ts';

const test = suite('wasm layerNorm parity');
const wasm1 = createWasmBackend({ threads: 1 });
test.after(() => {
  wasm.dispose();
  wasm1.dispose();
});

const TOL = { atol: 1e-5, rtol: 1e-5 };
const sumTol = (R: number) => ({ atol: 1e-5 * Math.sqrt(R), rtol: 1e-5 });
const WIDTHS = [1, 3, 4, 5, 127, 128, 129, 768, 1024] as const;

type Bk = typeof cpu | typeof wasm;
const up = (bk: Bk, data: Float32Array, shape: readonly number[]): Tensor =>
  new Tensor(
    bk,
    bk.upload(bk === cpu ? Float64Array.from(data) : data, bk === cpu ? 'f64' : 'f32'),
    [...shape],
    bk === cpu ? 'f64' : 'f32',
  );
const wrap = (bk: Bk, id: number, shape: readonly number[]): Tensor =>
  new Tensor(bk, id, [...shape], bk === cpu ? 'f64' : 'f32');

function check(bk: typeof wasm, shape: readonly number[], eps: number, seed: number): void {
  const C = shape.at(-1)!,
    rowShape = shape.slice(0, -1),
    R = sizeOf(rowShape);
  const label = `${bk.threads}t [${shape}] eps ${eps}`;
  const xv = values(seed, R * C),
    wv = values(seed + 1, C),
    bv = values(seed + 2, C),
    dyv = values(seed + 3, R * C);
  const ins = (b: Bk) => ({ x: up(b, xv, shape), w: up(b, wv, [C]), b: up(b, bv, [C]), dy: up(b, dyv, shape) });
  const c = ins(cpu),
    g = ins(bk);
  const rc = cpu.layerNorm(c.x, c.w, c.b, eps),
    rg = bk.layerNorm(g.x, g.w, g.b, eps);
  const meanC = wrap(cpu, rc.mean, rowShape),
    rstdC = wrap(cpu, rc.rstd, rowShape);
  expectParity(wrap(bk, rg.y, shape), wrap(cpu, rc.y, shape), TOL, `${label} y`);
  expectClose(wrap(bk, rg.mean, rowShape).dataSync(), meanC.dataSync(), TOL, `${label} mean`);
  expectClose(wrap(bk, rg.rstd, rowShape).dataSync(), rstdC.dataSync(), TOL, `${label} rstd`);
  // backward from the same (f32-rounded) statistics on both sides
  const mean32 = Float32Array.from(meanC.dataSync()),
    rstd32 = Float32Array.from(rstdC.dataSync());
  const bc = cpu.layerNormBackward(c.dy, c.x, c.w, up(cpu, mean32, rowShape), up(cpu, rstd32, rowShape));
  const bg = bk.layerNormBackward(g.dy, g.x, g.w, up(bk, mean32, rowShape), up(bk, rstd32, rowShape));
  expectClose(wrap(bk, bg.dx, shape).dataSync(), wrap(cpu, bc.dx, shape).dataSync(), TOL, `${label} dx`);
  expectParity(wrap(bk, bg.dWeight, [C]), wrap(cpu, bc.dWeight, [C]), sumTol(R), `${label} dWeight`);
  expectParity(wrap(bk, bg.dBias, [C]), wrap(cpu, bc.dBias, [C]), sumTol(R), `${label} dBias`);
  // frozen γ/β: dx alone, bit-identical to the full backward's dx (same kernel body without the sums)
  const dxOnly = bk.layerNormBackwardDx(g.dy, g.x, g.w, up(bk, mean32, rowShape), up(bk, rstd32, rowShape));
  expectClose(
    wrap(bk, dxOnly, shape).dataSync(),
    wrap(bk, bg.dx, shape).dataSync(),
    { atol: 0, rtol: 0 },
    `${label} dx only`,
  );
}

test('random row counts (1, odd) × widths with every tail, 1 and 2 threads, both passes', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 40 })),
      fc.constantFrom(...WIDTHS, 2, 6, 9, 33),
      fc.constantFrom(1e-12, 1e-5),
      fc.boolean(),
      fc.nat(1 << 20),
      (R, C, eps, lead, seed) => {
        const shape = lead && R % 2 === 0 ? [2, R / 2, C] : [R, C];
        for (const bk of [wasm1, wasm]) check(bk, shape, eps, seed);
      },
    ),
    RUNS(60),
  );
});

test('past the parallel threshold (several chunks, odd splits): BERT widths and the bert-small step', () => {
  for (const [shape, seed] of [
    [[97, 768], 1],
    [[33, 1024], 2],
    [[301, 129], 3],
    [[8, 84, 256], 4],
    [[5, 1], 5],
    [[100, 1027], 6],
  ] as const) {
    for (const bk of [wasm1, wasm]) check(bk, shape, 1e-12, seed);
  }
});

test('a constant row (zero variance: rstd = 1/√eps, y = b, dx = 0)', () => {
  const shape = [3, 129];
  for (const bk of [wasm1, wasm]) {
    const bv = values(2, 129);
    const x = up(bk, new Float32Array(3 * 129).fill(0.75), shape),
      w = up(bk, values(1, 129), [129]),
      b = up(bk, bv, [129]);
    const r = bk.layerNorm(x, w, b, 1e-5);
    expectClose(
      wrap(bk, r.rstd, [3]).dataSync(),
      [1 / Math.sqrt(1e-5), 1 / Math.sqrt(1e-5), 1 / Math.sqrt(1e-5)],
      TOL,
      'rstd',
    );
    expectClose(
      wrap(bk, r.y, shape).dataSync(),
      Array.from({ length: 3 * 129 }, (_, i) => bv[i % 129]!),
      TOL,
      'y = b',
    );
  }
});

test.run();
