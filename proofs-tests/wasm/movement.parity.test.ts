/** Parity: the f32 strided gather (permute / expand / slice / any affine view) vs the CPU reference. */
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gather, permute, scatterAdd, tensor, Tensor } from '../../core/index.ts';
import { createWasmBackend } from '../../core/backend/wasm/index.ts';
import { cpu, expectParity, pair, RUNS, values, wasm } from './harness.ts';

const test = suite('wasm strided parity');
const wasm1 = createWasmBackend({ threads: 1 });
test.after(() => {
  wasm.dispose();
  wasm1.dispose();
});

test('random affine views (strides −3…3, zero strides, merged axes)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: -3, max: 3 })), {
        minLength: 0,
        maxLength: 4,
      }),
      fc.nat(1 << 20),
      (axes, seed) => {
        const shape = axes.map(([d]) => d),
          strides = axes.map(([, s]) => s);
        const offset = axes.reduce((a, [d, s]) => a + Math.max(0, -(d - 1) * s), 0);
        const len = offset + axes.reduce((a, [d, s]) => a + Math.max(0, (d - 1) * s), 0) + 1;
        const [c, w] = pair(values(seed, len), [len]);
        const got = new Tensor(wasm, wasm.strided(w, shape, strides, offset), shape, 'f32');
        const ref = new Tensor(cpu, cpu.strided(c, shape, strides, offset), shape, 'f64');
        expectParity(
          got,
          ref,
          { atol: 0, rtol: 0 },
          `strided ${JSON.stringify(shape)} ${JSON.stringify(strides)} +${offset}`,
        );
      },
    ),
    RUNS(80),
  );
});

test('large views with a contiguous last axis (the WASM row copy): odd widths, negative / zero / overlapping outer strides, 1 and 2 threads', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(1, 3, 5, 64, 67, 128),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: -3, max: 3 }),
      fc.integer({ min: -3, max: 3 }),
      fc.nat(1 << 20),
      (n, a, ka, kb, seed) => {
        const b = Math.ceil(40000 / (n * a)); // past the kernel's size threshold
        const shape = [a, b, n],
          strides = [ka * b * n + kb, kb * n + ka, 1];
        const offset = shape.reduce((acc, d, i) => acc + Math.max(0, -(d - 1) * strides[i]!), 0);
        const len = offset + shape.reduce((acc, d, i) => acc + Math.max(0, (d - 1) * strides[i]!), 0) + 1;
        for (const bk of [wasm1, wasm]) {
          const data = values(seed, len);
          const w = new Tensor(bk, bk.upload(data, 'f32'), [len], 'f32'),
            c = new Tensor(cpu, cpu.upload(Float64Array.from(data), 'f64'), [len], 'f64');
          const got = new Tensor(bk, bk.strided(w, shape, strides, offset), shape, 'f32');
          expectParity(
            got,
            new Tensor(cpu, cpu.strided(c, shape, strides, offset), shape, 'f64'),
            { atol: 0, rtol: 0 },
            `${bk.threads}t strided [${shape}] [${strides}] +${offset}`,
          );
          w.dispose();
          c.dispose();
        }
      },
    ),
    RUNS(30),
  );
});

test('attention head split / merge permutes', () => {
  const [c, w] = pair(values(3, 2 * 84 * 4 * 64), [2, 84, 4, 64]);
  expectParity(permute(w, [0, 2, 1, 3]), permute(c, [0, 2, 1, 3]), { atol: 0, rtol: 0 }, 'permute 0213');
});

test('row gather and scatter-add (the packed-row encoder): distinct, repeated and empty indices, exact; same RangeErrors', () => {
  // up to 2400 rows of 64: past the size where the copy is split across the threads
  fc.assert(
    fc.property(
      fc.constantFrom(1, 7, 40, 2400),
      fc.constantFrom(1, 3, 64, 256),
      fc.constantFrom(0, 1, 5, 50, 2000),
      fc.boolean(),
      fc.nat(1 << 20),
      (rows, width, n, distinct, seed) => {
        // distinct: a prefix of a seeded permutation (the packing's case); else any rows, repeats included
        const perm = Array.from({ length: rows }, (_, i) => i).sort(
          (a, b) => ((a * 7919 + seed) % 101) - ((b * 7919 + seed) % 101),
        );
        const idx = Int32Array.from({ length: distinct ? Math.min(n, rows) : n }, (_, i) =>
          distinct ? perm[i]! : (i * 31 + seed) % rows,
        );
        const [ct, wt] = pair(values(seed, rows * width), [rows, width]);
        const ci = tensor(cpu, idx, { shape: [idx.length], dtype: 'i32' }),
          wi = tensor(wasm, idx, { shape: [idx.length], dtype: 'i32' });
        expectParity(gather(wt, wi), gather(ct, ci), { atol: 0, rtol: 0 }, `gather ${rows}×${width} at ${idx.length}`);
        const [cu, wu] = pair(values(seed + 1, idx.length * width), [idx.length, width]);
        expectParity(
          scatterAdd(wi, wu, rows),
          scatterAdd(ci, cu, rows),
          { atol: 1e-6, rtol: 1e-6 },
          `scatterAdd ${idx.length} rows of ${width} into ${rows}`,
        );
        for (const t of [ct, wt, ci, wi, cu, wu]) t.dispose();
      },
    ),
    RUNS(60),
  );
  // takeRows: −1 gives a zero row (the packed-row encoder's moves, both directions)
  for (const [rows, width, n] of [
    [5, 3, 7],
    [620, 64, 2400],
    [1, 1, 1],
    [0, 4, 3],
  ] as const) {
    const [ct, wt] = pair(values(rows + width, rows * width), [rows, width]);
    const idx = Int32Array.from({ length: n }, (_, i) => (rows === 0 || i % 5 === 4 ? -1 : (i * 7) % rows));
    const ci = tensor(cpu, idx, { shape: [n], dtype: 'i32' }),
      wi = tensor(wasm, idx, { shape: [n], dtype: 'i32' });
    expectParity(
      new Tensor(wasm, wasm.takeRows(wt, wi), [n, width], 'f32'),
      new Tensor(cpu, cpu.takeRows(ct, ci), [n, width], 'f64'),
      { atol: 0, rtol: 0 },
      `takeRows ${rows}×${width} by ${n}`,
    );
  }
  const bad = (bk: typeof cpu | typeof wasm) => {
    const table = tensor(bk, new Float32Array(6), { shape: [3, 2], dtype: 'f32' }),
      idx = tensor(bk, Int32Array.of(0, 3), { shape: [2], dtype: 'i32' });
    const msg = (f: () => unknown) => {
      try {
        f();
        return 'no error';
      } catch (e) {
        return (e as Error).message;
      }
    };
    const upd = tensor(bk, new Float32Array(4), { shape: [2, 2], dtype: 'f32' });
    return [
      msg(() => gather(table, idx)),
      msg(() => scatterAdd(idx, upd, 3)),
      msg(() => bk.takeRows(table, tensor(bk, Int32Array.of(-2), { shape: [1], dtype: 'i32' }))),
    ];
  };
  assert.match(
    bad(cpu).join(' | '),
    /^gather: index 3 at position 1 is out of range.* \| scatterAdd: index 3 at position 1 is out of range for 3 rows \| takeRows: index -2 at position 0 is out of range/,
  );
  assert.equal(bad(wasm), bad(cpu));
});

// The distinct-index scatter-add (a row copy) with index ranks other than 1 and rows of any rank: the
// backward of a gather by [B, S] indices (dynamic prompting's layouts) and of a gather of scalars. Each
// updates tensor sits between heap blocks of NaN, so a copy that reads past it (as one that took rows of
// S·d floats did) gives NaN instead of silently reading whatever the heap held.
test('scatterAdd with distinct [N] / [B, S] indices and scalar, vector or matrix rows: exact, nothing read past the updates', () => {
  for (const wasmBk of [wasm, wasm1])
    for (const [idxShape, rowShape] of [
      [[6], []],
      [[2, 3], [4]],
      [
        [3, 5],
        [2, 3],
      ],
      [[2, 2, 2], []],
      [[8, 16], [16]],
    ] as const) {
      const n = idxShape.reduce((a: number, b: number) => a * b, 1),
        row = rowShape.reduce((a: number, b: number) => a * b, 1),
        rows = n + 3;
      const idx = Int32Array.from({ length: n }, (_, i) => (i * 5 + 2) % rows); // distinct: 5 and rows coprime
      const guard = () => tensor(wasmBk, new Float32Array(4 * n * row + 64).fill(NaN), { shape: [4 * n * row + 64] });
      const before = guard();
      const [cu] = pair(values(n + row, n * row), [...idxShape, ...rowShape]);
      const wu = tensor(wasmBk, values(n + row, n * row), { shape: [...idxShape, ...rowShape], dtype: 'f32' });
      const after = guard();
      const ci = tensor(cpu, idx, { shape: [...idxShape], dtype: 'i32' }),
        wi = tensor(wasmBk, idx, { shape: [...idxShape], dtype: 'i32' });
      assert.is(new Set(idx).size, n, 'distinct indices (the row-copy path)');
      expectParity(
        scatterAdd(wi, wu, rows),
        scatterAdd(ci, cu, rows),
        { atol: 0, rtol: 0 },
        `scatterAdd by ${JSON.stringify(idxShape)} of rows ${JSON.stringify(rowShape)} into ${rows} (${wasmBk.threads} threads)`,
      );
      for (const t of [before, after, cu, wu, ci, wi]) t.dispose();
    }
});

test.run();
