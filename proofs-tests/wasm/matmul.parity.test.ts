/** Parity: the WASM SIMD GEMM (all transposes, batched, broadcast batch dims, edge tiles) vs the f64 CPU reference. */
import fc from 'fast-check';
import { suite } from 'uvu';
import { matmul, matmulBias } from '../../core/index.ts';
import { createWasmBackend, type WasmBackend } from '../../core/backend/wasm/index.ts';
import { gemmChunks } from '../../core/backend/wasm/gemm-plan.ts';
import { MAX_CHUNKS } from '../../core/backend/wasm/pool.ts';
import { tensor } from '../../core/index.ts';
import { cpu, expectParity, pair, RUNS, sizeOf, values, wasm } from './harness.ts';

const test = suite('wasm matmul parity');
const wasm1 = createWasmBackend({ threads: 1 });
test.after(() => {
  wasm.dispose();
  wasm1.dispose();
});

/** f32 accumulation over K terms of |a·b| ≤ 4: error grows ~√K·ε·scale. */
const tol = (K: number) => ({ atol: 1e-5 * Math.max(1, Math.sqrt(K)) * 4, rtol: 1e-4 });

const dim = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 70 }));

function check(aShape: number[], bShape: number[], tA: boolean, tB: boolean, seed: number): void {
  const [ac, aw] = pair(values(seed, sizeOf(aShape)), aShape);
  const [bc, bw] = pair(values(seed + 1, sizeOf(bShape)), bShape);
  const K = tA ? aShape.at(-2)! : aShape.at(-1)!;
  expectParity(
    matmul(aw, bw, tA, tB),
    matmul(ac, bc, tA, tB),
    tol(K),
    `matmul ${JSON.stringify(aShape)}${tA ? 'ᵀ' : ''} @ ${JSON.stringify(bShape)}${tB ? 'ᵀ' : ''}`,
  );
  for (const t of [ac, aw, bc, bw]) t.dispose();
}

test('2-D: every transpose pair over tiny, odd and tile-straddling sizes', () => {
  fc.assert(
    fc.property(dim, dim, dim, fc.boolean(), fc.boolean(), fc.nat(1 << 20), (M, K, N, tA, tB, seed) => {
      check(tA ? [K, M] : [M, K], tB ? [N, K] : [K, N], tA, tB, seed);
    }),
    RUNS(60),
  );
});

test('batched with broadcast batch dims', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
      fc.nat(7),
      fc.nat(7),
      dim,
      dim,
      dim,
      fc.boolean(),
      fc.boolean(),
      fc.nat(1 << 20),
      (batch, dropA, dropB, M, K, N, tA, tB, seed) => {
        // each operand drops leading batch dims or sets some to 1
        const bat = (mask: number) =>
          batch.filter((_, i) => !(mask & (1 << i) && i === 0)).map((d, i) => (mask & (2 << i) ? 1 : d));
        const aB = bat(dropA),
          bB = bat(dropB);
        check([...aB, ...(tA ? [K, M] : [M, K])], [...bB, ...(tB ? [N, K] : [K, N])], tA, tB, seed);
      },
    ),
    RUNS(40),
  );
});

test('x·wᵀ + bias in one call (matmulBias: the bias starts the accumulators), edge tiles, K = 0, 1 and 2 threads', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(0, 1, 7, 70, 300),
      dim,
      fc.constantFrom(0, 1, 7),
      fc.nat(1 << 20),
      (M, N, Kpick, seed) => {
        const K = Kpick === 7 ? 1 + (seed % 90) : Kpick;
        for (const bk of [wasm, wasm1]) {
          const [xc, xw] = pair(values(seed, M * K), [M, K]),
            [wc, ww] = pair(values(seed + 1, N * K), [N, K]),
            [bc, bw] = pair(values(seed + 2, N), [N]);
          const moved = (t: typeof xw) =>
            bk === wasm ? t : tensor(bk, t.dataSync(), { shape: t.shape, dtype: 'f32' });
          expectParity(
            matmulBias(moved(xw), moved(ww), moved(bw)),
            matmulBias(xc, wc, bc),
            tol(K),
            `${bk.threads}t [${M}, ${K}]·[${N}, ${K}]ᵀ + bias`,
          );
          for (const t of [xc, xw, wc, ww, bc, bw]) t.dispose();
        }
      },
    ),
    RUNS(40),
  );
});

test('BERT shapes: linear layers and attention (one each)', () => {
  check([84, 256], [1024, 256], false, true, 1);
  check([84, 1024], [1024, 256], false, false, 2);
  check([2, 4, 84, 64], [2, 4, 84, 64], false, true, 3);
  check([2, 4, 84, 84], [2, 4, 84, 64], true, false, 4);
});

/** The same product on another WASM backend (thread count, register tile) against the f64 reference. */
function checkOn(
  bk: WasmBackend,
  aShape: number[],
  bShape: number[],
  tA: boolean,
  tB: boolean,
  seed: number,
  label: string,
): void {
  const A = values(seed, sizeOf(aShape)),
    B = values(seed + 1, sizeOf(bShape));
  const got = matmul(tensor(bk, A, { shape: aShape }), tensor(bk, B, { shape: bShape }), tA, tB);
  const ref = matmul(
    tensor(cpu, Float64Array.from(A), { shape: aShape, dtype: 'f64' }),
    tensor(cpu, Float64Array.from(B), { shape: bShape, dtype: 'f64' }),
    tA,
    tB,
  );
  expectParity(got, ref, tol(tA ? aShape.at(-2)! : aShape.at(-1)!), label);
}

test('cache blocking: long K splits panels into runs and M into row blocks, across batch and chunk edges', () => {
  // K = 2100: runs of 2 (3×12 tile) or 3 (4×8) panels, 256 KiB of packed B, and 30- or 28-row blocks
  // of A, so a 70×37 product has two runs per batch on one thread (the second ending in a partial
  // panel) and three row blocks (the last partial); on two threads the chunks cut the runs shorter
  const one = createWasmBackend({ threads: 1 });
  for (const [tA, tB] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    check([2, ...(tA ? [2100, 70] : [70, 2100])], [2, ...(tB ? [37, 2100] : [2100, 37])], tA, tB, 11);
    checkOn(
      one,
      [2, ...(tA ? [2100, 70] : [70, 2100])],
      [2, ...(tB ? [37, 2100] : [2100, 37])],
      tA,
      tB,
      11,
      `1 thread, blocked${tA ? ' Aᵀ' : ''}${tB ? ' Bᵀ' : ''}`,
    );
  }
  one.dispose();
});

test('2 threads: guided chunks and row pieces (M off the tile, M < 2 tiles, batched) match 1 thread bit for bit', () => {
  // each element's k sum runs in one tile whatever the split, so the thread count must not change a bit
  const one = createWasmBackend({ threads: 1 });
  const cases: [number[], number[]][] = [
    [
      [100, 50],
      [50, 37],
    ],
    [
      [97, 64],
      [64, 300],
    ],
    [
      [5, 200],
      [200, 100],
    ],
    [
      [3, 70, 40],
      [3, 40, 30],
    ],
    [
      [672, 64],
      [64, 40],
    ],
  ];
  for (const [aS, bS] of cases)
    for (const [tA, tB] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      const a = tA ? [...aS.slice(0, -2), aS.at(-1)!, aS.at(-2)!] : aS,
        b = tB ? [...bS.slice(0, -2), bS.at(-1)!, bS.at(-2)!] : bS;
      const label = `${JSON.stringify(a)}${tA ? 'ᵀ' : ''} @ ${JSON.stringify(b)}${tB ? 'ᵀ' : ''}`;
      const A = values(5, sizeOf(a)),
        B = values(6, sizeOf(b));
      const got2 = matmul(tensor(wasm, A, { shape: a }), tensor(wasm, B, { shape: b }), tA, tB).dataSync();
      const got1 = matmul(tensor(one, A, { shape: a }), tensor(one, B, { shape: b }), tA, tB).dataSync();
      const bad = got2.findIndex((v, i) => !Object.is(v, got1[i]));
      if (bad >= 0) throw new Error(`${label}: 2 threads ${got2[bad]} vs 1 thread ${got1[bad]} at ${bad}`);
      checkOn(wasm, a, b, tA, tB, 5, `2 threads ${label}`);
    }
  one.dispose();
});

test('chunk plans cover every (item, row) once, row edges on tile multiples', () => {
  for (const [items, M, threads] of [
    [22, 672, 2],
    [86, 672, 2],
    [1, 100, 2],
    [3, 5, 4],
    [192, 84, 2],
    [5000, 9, 16],
    [22, 672, 64],
  ] as const) {
    const plan = gemmChunks(items, M, 3, threads, MAX_CHUNKS);
    if (plan.length > MAX_CHUNKS) throw new Error(`${items}×${M}/${threads}: ${plan.length} chunks`);
    const seen = new Uint8Array(items * M);
    for (const [lo, hi, r0, r1] of plan) {
      if (r0 % 3 !== 0 || (r1 !== M && r1 % 3 !== 0) || r0 >= r1 || lo >= hi)
        throw new Error(`bad chunk ${[lo, hi, r0, r1]}`);
      for (let it = lo; it < hi; it++) for (let r = r0; r < r1; r++) seen[it * M + r]!++;
    }
    if (seen.some((v) => v !== 1)) throw new Error(`${items}×${M}/${threads}: not an exact cover`);
  }
});

test('1 thread, mul+add (no FMA) and other register tiles agree too', () => {
  for (const gemm of [
    { mr: 4, nr: 8, fma: true },
    { mr: 6, nr: 8, fma: false },
    { mr: 4, nr: 12, fma: true },
    { mr: 1, nr: 4, fma: true },
  ]) {
    const bk = createWasmBackend({ threads: 1, gemm });
    checkOn(bk, [37, 29], [29, 23], false, false, 7, `tile ${JSON.stringify(gemm)}`);
    bk.dispose();
  }
});

test('f64 and zero-size operands take the reference path / empty results', () => {
  const a = tensor(wasm, new Float64Array([1, 2, 3, 4]), { shape: [2, 2], dtype: 'f64' });
  const r = matmul(a, a);
  if (r.dtype !== 'f64' || r.dataSync().join() !== '7,10,15,22') throw new Error(`f64 matmul: ${r.dataSync().join()}`);
  const z = matmul(
    tensor(wasm, new Float32Array(0), { shape: [3, 0] }),
    tensor(wasm, new Float32Array(0), { shape: [0, 5] }),
  );
  if (z.shape.join() !== '3,5' || z.dataSync().some((v) => v !== 0)) throw new Error('K = 0 must give zeros');
});

test.run();
