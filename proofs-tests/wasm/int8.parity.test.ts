/**
 * Parity: the WASM int8 product (relaxed SIMD integer dot, core/backend/wasm/int8-gemm.ts) against the
 * CPU oracle (core/tensor/int8.ts): bit for bit, forward x·Wᵀ + b and the data path dy·W, over shapes
 * that leave partial k-blocks, partial column panels, partial row tiles, zero rows and the
 * column-split path of few-row products; through the autograd front end (linearInt8), so the
 * backward's bias sum is checked too.
 */
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { int8Weight, linearInt8, tensor, vjp, type Backend, type Tensor } from '../../core/index.ts';
import { quantizeWeights } from '../../core/tensor/int8.ts';
import { createWasmBackend } from '../../core/backend/wasm/index.ts';
import { fusedDotCorrect, INT8_DOT_NAMES, INT8_DOTS } from '../../core/backend/wasm/int8-kernel.ts';
import { cpu, RUNS, values, wasm } from './harness.ts';

const test = suite('wasm int8 parity');
test.after(() => wasm.dispose());

interface Run {
  readonly y: Float32Array;
  readonly dx: Float32Array;
  readonly db: Float32Array;
}

/** Data of one run: random, or `extreme` rows of one value (codes ±127) against weights of one value (codes ±63). */
interface Data {
  readonly zeroRow?: boolean;
  /** Rows 2–4 of x and dy: one NaN, one +∞, a subnormal maximum (127/max overflows): the checked codes. */
  readonly specialRows?: boolean;
  readonly extreme?: { readonly x: number; readonly w: number; readonly dy: number } | undefined;
}

function run(bk: Backend, M: number, N: number, K: number, seed: number, data: Data): Run {
  const { zeroRow = false, extreme, specialRows = false } = data;
  const w = quantizeWeights(extreme ? new Array<number>(N * K).fill(extreme.w) : values(seed, N * K, -0.2, 0.2), N, K);
  const xs = extreme ? new Array<number>(M * K).fill(extreme.x) : values(seed + 1, M * K, -3, 3);
  if (zeroRow && M > 1) xs.fill(0, K, 2 * K); // a row of zeros: scale 0, codes 0
  const cot = extreme ? new Array<number>(M * N).fill(extreme.dy) : values(seed + 2, M * N, -1, 1);
  if (specialRows && M > 4)
    for (const [a, width] of [
      [xs, K],
      [cot, N],
    ] as const) {
      a[2 * width + 1] = NaN;
      a[3 * width] = Infinity;
      a.fill(1e-39, 4 * width, 5 * width);
    }
  const qw = int8Weight(bk, w, [N, K]);
  const x = tensor(bk, xs, { shape: [M, K], dtype: 'f32' });
  const b = tensor(bk, values(seed + 3, N, -1, 1), { shape: [N], dtype: 'f32' });
  const c = tensor(bk, cot, { shape: [M, N], dtype: 'f32' });
  const [y, pull] = vjp(([xx, bb]: readonly [Tensor, Tensor]) => linearInt8(xx, qw, bb), [x, b] as const);
  const [dx, db] = pull(c);
  const out = { y: y.dataSync() as Float32Array, dx: dx.dataSync(), db: db.dataSync() };
  for (const t of [y, dx, db, x, b, c]) t.dispose();
  qw.dispose();
  return out;
}

/** Bit for bit, except that any NaN matches any NaN (payloads are not the oracle's concern). */
function bitEqual(got: Float32Array, want: Float32Array, label: string): void {
  assert.is(got.length, want.length, `${label}: length`);
  const gu = new Uint32Array(got.buffer, got.byteOffset, got.length),
    wu = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < got.length; i++)
    if (gu[i] !== wu[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i])))
      assert.unreachable(`${label}: element ${i} got ${got[i]} want ${want[i]} (not bit-equal)`);
}

function check(
  M: number,
  N: number,
  K: number,
  seed: number,
  zeroRow = false,
  extreme?: Data['extreme'],
  bk: Backend = wasm,
  specialRows = false,
): void {
  const label = `M${M} N${N} K${K}${extreme ? ` x ${extreme.x} w ${extreme.w} dy ${extreme.dy}` : ''}${specialRows ? ' NaN/∞/subnormal rows' : ''} on ${bk.int8Kernel}`;
  const want = run(cpu, M, N, K, seed, { zeroRow, extreme, specialRows }),
    got = run(bk, M, N, K, seed, { zeroRow, extreme, specialRows });
  bitEqual(got.y, want.y, `${label} forward`);
  bitEqual(got.dx, want.dx, `${label} dx = dy·W`);
  // the bias gradient is an f32 column sum on both sides, in different orders
  if (!specialRows)
    for (let i = 0; i < N; i++) assert.ok(Math.abs(got.db[i]! - want.db[i]!) <= 1e-5 * (1 + Math.abs(want.db[i]!)));
}

test('BERT-like shapes: K and N multiples of 16, rows in whole and partial tiles', () => {
  check(33, 64, 48, 1);
  check(84, 128, 64, 2);
  check(8, 256, 64, 3); // few rows: the column-split path
});

test('ragged shapes: partial k-blocks, partial column panels, one row, zero rows', () => {
  check(1, 5, 7, 4);
  check(7, 13, 37, 5, true);
  check(3, 4, 17, 6);
  check(65, 30, 33, 7, true);
});

test("rows the quantizer's range check is for: NaN, +∞, a subnormal maximum (the oracle's codes, NaN for NaN)", () => {
  check(9, 40, 64, 10, true, undefined, wasm, true);
  check(9, 40, 70, 11, true, undefined, wasm, true); // a partial k-block: the scalar tail
});

test("the largest sums of codes: the relaxed GEMM's i16 sums wrap and must come back exact", () => {
  // four products of 127·63 per i16 lane plus the +64 offset's 64·4·127: past 2¹⁵ either sign
  // (int8-gemm-relaxed.ts); the backward quantizes dy·s_n, equal along a row here, to ±127 too
  for (const [x, w, dy] of [
    [1, 0.2, 1],
    [-1, 0.2, -1],
    [1, -0.2, -1],
    [-1, -0.2, 1],
  ] as const) {
    check(5, 8, 64, 9, false, { x, w, dy });
    check(3, 6, 48, 9, false, { x, w, dy }); // K with an odd number of 16-byte blocks (a zero pad block)
  }
});

// The shared `wasm` backend runs the kernel int8-kernel.ts picks here; this runs each of the three.
if (!fusedDotCorrect())
  console.log(`SKIP: vnni int8 GEMM parity on V8 ${process.versions.v8} (refused here; .ci/run runs it on Node 24)`);
for (const dot of INT8_DOTS)
  test(`the ${dot} int8 GEMM (core/backend/wasm/int8-kernel.ts) gives the same bits, or is refused`, () => {
    if (dot === 'vnni' && !fusedDotCorrect()) {
      // V8 11.3 (Node 20) miscompiles the fused dot: asking for it must fail loudly, not give wrong numbers
      assert.throws(() => createWasmBackend({ threads: 1, int8Dot: dot }), /miscompiles/);
      return;
    }
    const bk = createWasmBackend({ threads: 1, int8Dot: dot, gemm: { mr: 3, nr: 12, fma: dot !== 'widened' } });
    try {
      assert.is(bk.int8Kernel, INT8_DOT_NAMES[dot]);
      for (const [M, N, K, seed] of [
        [33, 64, 48, 1],
        [7, 13, 37, 5],
        [65, 30, 33, 7],
        [8, 256, 64, 3],
        [1, 5, 7, 4],
      ] as const)
        check(M, N, K, seed, seed % 2 === 1, undefined, bk);
      for (const [x, w, dy] of [
        [1, 0.2, 1],
        [-1, 0.2, 1],
      ] as const)
        check(5, 8, 64, 9, false, { x, w, dy }, bk);
    } finally {
      bk.dispose();
    }
  });

test('random shapes (fast-check)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 70 }),
      fc.integer({ min: 0, max: 1000 }),
      (M, N, K, seed) => check(M, N, K, 100 + seed, seed % 2 === 0),
    ),
    RUNS(25),
  );
});

test('a product large enough for the pool splits rows over both threads and stays bit-equal', () => {
  check(300, 96, 160, 8);
});

test('an upload that grows the heap (its packed codes pass the 16 MiB initial memory) writes into the grown memory', () => {
  // roberta-large's FFN weights made uploadInt8 write through views taken before the heap grew (RangeError)
  const fresh = createWasmBackend({ threads: 1 });
  try {
    const [N, K] = [2048, 4608]; // 9.4 MB of codes, packed twice
    const w = quantizeWeights(values(9, N * K, -0.2, 0.2), N, K);
    const qw = int8Weight(fresh, w, [N, K]);
    const x = values(10, 2 * K, -3, 3);
    const want = tensor(cpu, x, { shape: [2, K], dtype: 'f32' });
    const wq = int8Weight(cpu, w, [N, K]);
    const ref = linearInt8(want, wq).dataSync() as Float32Array;
    const got = linearInt8(tensor(fresh, x, { shape: [2, K], dtype: 'f32' }), qw).dataSync() as Float32Array;
    bitEqual(got, ref, 'forward after the heap grew');
  } finally {
    fresh.dispose();
  }
});

test.run();
