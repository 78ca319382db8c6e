/**
 * Two of the int8 GEMMs of core/tensor/int8.ts (int8-kernel.ts says which runs where), and what all
 * three share: the argument list, the SIMD opcodes, and the epilogue that turns a row's four i32x4
 * accumulators into four f32 outputs. The third, int8-gemm-relaxed.ts, widens i16 dots once per two
 * k-blocks; the row quantization that feeds them is int8-quant.ts.
 *
 * B holds the 7-bit weight codes + 64 (relaxed SIMD's 8-bit dot is deterministic only while its second
 * operand is in [0, 127]). Per 16-byte k-block, this kernel either widens both operands to i16 and takes
 * i32x4.dot_i16x8_s twice ('widened', no relaxed SIMD), or takes one i32x4.relaxed_dot_i8x16_i7x16_add_s
 * ('fused': one AVX-VNNI vpdpbusd under V8 13.6); then it subtracts 64·Σ_k a_k per row (the quantize
 * kernel writes that sum). Every integer is exact, the f32 steps are the oracle's, and the result is
 * the CPU reference's bit for bit.
 *
 * Layouts (K padded to Kp, a multiple of 32, with zero codes):
 * - A, the quantized rows: rows below mFull in tiles of `mr` rows, each tile interleaved by 16-byte
 *   k-blocks ([r0 k0..15][r1 k0..15]…[r0 k16..31]…); rows from mFull on plain, Kp bytes each. Tile t and
 *   plain row r both start at row·Kp, so a row's block base never needs the tile count.
 * - B, the codes + 64 of the output columns' weights: panels of 4 columns interleaved the same way
 *   (panel p at p·4·Kp). The forward's B is W [N, K]; the backward's (dy·W, reduced over N) is Wᵀ.
 * A tile computes mr×4 outputs in mr·4 i32x4 accumulators; the 4 lanes of each are summed with two
 * rounds of shuffles, which leaves the 4 columns of a row in one vector for a SIMD epilogue.
 */
import { Fn, I32, O, uleb, V128, type ValType } from './encoder.ts';

/** Rows per register tile (int8-gemm-relaxed.ts takes 1): 8 accumulator chains hide vpdpbusd's latency. */
export const INT8_MR = 2;
/** Both GEMMs' i32 argument count (pool.ts: at most 18); the row quantization is int8-quant.ts. */
export const INT8_GEMM_ARGS = 17;
/** Argument positions of both GEMMs (see int8GemmFn). */
export const GEMM_ARG = {
  aP: 0,
  bP: 1,
  cP: 2,
  ldc: 3,
  rowLo: 4,
  rowHi: 5,
  mFull: 6,
  panelLo: 7,
  panelHi: 8,
  Kp: 9,
  rowScaleP: 10,
  rowSumP: 11,
  colScaleP: 12,
  biasP: 13,
  N: 14,
  blockPanels: 15,
  offP: 16,
} as const;

/** SIMD opcodes (after 0xfd) the int8 kernels use beyond encoder.ts's table. */
export const X = {
  load: 0x00,
  store: 0x0b,
  shuffle: 0x0d,
  i16x8Splat: 0x10,
  i32x4Splat: 0x11,
  f32x4Splat: 0x13,
  f32x4Extract: 0x1f,
  i16x8ExtendLowI8x16S: 0x87,
  i16x8ExtendHighI8x16S: 0x88,
  i16x8Add: 0x8e,
  i16x8Sub: 0x91,
  i32x4Add: 0xae,
  i32x4Sub: 0xb1,
  i32x4DotI16x8S: 0xba,
  f32x4Add: 0xe4,
  f32x4Mul: 0xe6,
  f32x4ConvertI32x4S: 0xfa,
  i16x8RelaxedDotI8x16I7x16S: 0x112,
  i32x4RelaxedDotI8x16I7x16AddS: 0x113,
} as const;
/** Scalar opcodes beyond encoder.ts's table. */
export const C = { i32ShrU: 0x76, f32Load: 0x2a } as const;

/** Byte lanes of i32 lanes [l0, l1, l2, l3] of two shuffled vectors (0–3: the first, 4–7: the second). */
const lanes = (...l: number[]): number[] => l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);

/** Where one row's four outputs of one panel go, for `storeRowPanel`. */
export interface RowPanel {
  /** Four i32x4 accumulators, one per column of the panel (their lanes still to be summed). */
  readonly acc: readonly number[];
  /** Two v128 scratch locals and one i32 scratch local. */
  readonly red: readonly [number, number];
  readonly ptr: number;
  /** Pushes the row index m and the panel index p (i32). */
  readonly row: () => void;
  readonly panel: () => void;
  /** Subtract 64·rowSum[m] (the widened kernel: B's +64 is still in the sums). */
  readonly offsetBySum: boolean;
}

/**
 * C[m, 4p + j] = f32(Σ_lanes acc_j [− 64·rowSum[m]]) · f32(rowScale[m]·colScale[4p+j]) + bias[4p+j],
 * j < 4, columns ≥ N not stored: the oracle's f32 steps in its order.
 */
export function storeRowPanel(f: Fn, r: RowPanel): void {
  const [a0, a1, a2, a3] = r.acc as [number, number, number, number];
  const [red0, red1] = r.red;
  const G = GEMM_ARG;
  // [a0+a2, b0+b2, a1+a3, b1+b3] and the same for c, d; then [a, b, c, d]
  const pair = (x: number, y: number, into: number): void => {
    f.get(x)
      .get(y)
      .simd(X.shuffle, ...lanes(0, 4, 1, 5));
    f.get(x)
      .get(y)
      .simd(X.shuffle, ...lanes(2, 6, 3, 7));
    f.simd(X.i32x4Add).set(into);
  };
  pair(a0, a1, red0);
  pair(a2, a3, red1);
  const rowBytes = (): void => void (r.row(), f.i32(2).op(O.i32Shl));
  const colBytes = (): void => void (r.panel(), f.i32(4).op(O.i32Shl));
  const firstCol = (): void => void (r.panel(), f.i32(2).op(O.i32Shl));
  // address of C[m, 4p]
  f.get(G.cP);
  r.row();
  f.get(G.ldc).op(O.i32Mul).op(O.i32Add);
  colBytes();
  f.op(O.i32Add).set(r.ptr);
  f.get(red0)
    .get(red1)
    .simd(X.shuffle, ...lanes(0, 1, 4, 5));
  f.get(red0)
    .get(red1)
    .simd(X.shuffle, ...lanes(2, 3, 6, 7));
  f.simd(X.i32x4Add);
  if (r.offsetBySum) {
    f.get(G.rowSumP);
    rowBytes();
    f.op(O.i32Add).load(O.i32Load).i32(6).op(O.i32Shl).simd(X.i32x4Splat).simd(X.i32x4Sub);
  }
  f.simd(X.f32x4ConvertI32x4S);
  f.get(G.rowScaleP);
  rowBytes();
  f.op(O.i32Add).load(C.f32Load).simd(X.f32x4Splat);
  f.get(G.colScaleP);
  colBytes();
  f.op(O.i32Add).simd(X.load, 4, 0).simd(X.f32x4Mul).simd(X.f32x4Mul);
  f.get(G.biasP);
  colBytes();
  f.op(O.i32Add).simd(X.load, 4, 0).simd(X.f32x4Add).set(red0);
  f.if(
    () => void (firstCol(), f.i32(4).op(O.i32Add).get(G.N).op(O.i32LeS)),
    () => f.get(r.ptr).get(red0).simd(X.store, 4, 0),
    () => {
      for (let j = 0; j < 4; j++)
        f.if(
          () => void (firstCol(), f.i32(j).op(O.i32Add).get(G.N).op(O.i32LtS)),
          () =>
            f
              .get(r.ptr)
              .get(red0)
              .simd(X.f32x4Extract, j)
              .load(O.f32Store, 4 * j),
        );
    },
  );
}

/** The function every int8 GEMM is, the locals all of them use, and their sweep over blocks of panels. */
export function int8GemmFrame() {
  const f = new Fn('int8_gemm', new Array<ValType>(INT8_GEMM_ARGS).fill(I32));
  const [pb, pe, m, p, pa, pbp, aEnd] = Array.from({ length: 7 }, () => f.local(I32)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const { panelLo, panelHi, blockPanels } = GEMM_ARG;
  /** body() once per block of `blockPanels` panels [pb, pe), every row against one block before the next. */
  const sweepPanelBlocks = (body: () => void): void =>
    void f.for(
      pb,
      () => f.get(panelLo),
      panelHi,
      () => f.get(blockPanels),
      () => {
        f.get(pb).get(blockPanels).op(O.i32Add).tee(pe).get(panelHi).get(pe).get(panelHi).op(O.i32LtS).op(O.select);
        f.set(pe);
        body();
      },
    );
  return { f, pb, pe, m, p, pa, pbp, aEnd, sweepPanelBlocks };
}

/**
 * int8_gemm(aP, bP, cP, ldc, rowLo, rowHi, mFull, panelLo, panelHi, Kp, rowScaleP, rowSumP, colScaleP,
 * biasP, N, blockPanels, offP): C[m, 4p + j] = f32(Σ_k A[m,k]·(B[4p+j,k] − 64)) · f32(rowScale[m]·colScale[4p+j])
 * + bias[4p+j] for rows [rowLo, rowHi) and panels [panelLo, panelHi); columns ≥ N are not stored.
 * colScale and bias hold whole panels (padded to a multiple of 4). Panels are swept in blocks of
 * `blockPanels`, every row against one block before the next, so the block stays in L1/L2. offP
 * (the relaxed kernel's i16 offsets) is not read.
 */
export function int8GemmFn(dot: 'widened' | 'fused' = 'widened', mr = INT8_MR): Fn {
  const { f, pb, pe, m, p, pa, pbp, aEnd, sweepPanelBlocks } = int8GemmFrame();
  const { aP, bP, rowLo, rowHi, mFull, Kp } = GEMM_ARG;
  const mEnd = f.local(I32);
  const acc = Array.from({ length: mr }, () => Array.from({ length: 4 }, () => f.local(V128)));
  const av = Array.from({ length: mr }, () => f.local(V128));
  const bv = Array.from({ length: 4 }, () => f.local(V128));
  const red = [f.local(V128), f.local(V128)] as const;

  /** One tile of `rows` rows (≤ mr) at row m against panel p. */
  const tile = (rows: number): void => {
    for (let i = 0; i < rows; i++) for (let j = 0; j < 4; j++) f.v128Zero().set(acc[i]![j]!);
    f.get(aP).get(m).get(Kp).op(O.i32Mul).op(O.i32Add).set(pa);
    f.get(pa).get(Kp).i32(rows).op(O.i32Mul).op(O.i32Add).set(aEnd);
    f.get(bP).get(p).get(Kp).op(O.i32Mul).i32(2).op(O.i32Shl).op(O.i32Add).set(pbp);
    f.op(O.block, 0x40, O.loop, 0x40);
    f.get(pa).get(aEnd).op(O.i32GeU, O.brIf, 1);
    for (let i = 0; i < rows; i++)
      f.get(pa)
        .simd(X.load, 4, ...uleb(16 * i))
        .set(av[i]!);
    for (let j = 0; j < 4; j++)
      f.get(pbp)
        .simd(X.load, 4, ...uleb(16 * j))
        .set(bv[j]!);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < 4; j++) {
        if (dot === 'fused') {
          // one AVX-VNNI vpdpbusd under V8 13 (int8-kernel.ts says where this kernel is used)
          f.get(av[i]!).get(bv[j]!).get(acc[i]![j]!).simd(X.i32x4RelaxedDotI8x16I7x16AddS);
        } else {
          // widen to i16 and take i32x4.dot_i16x8_s twice (exact integers)
          f.get(acc[i]![j]!);
          for (const half of [X.i16x8ExtendLowI8x16S, X.i16x8ExtendHighI8x16S])
            f.get(av[i]!).simd(half).get(bv[j]!).simd(half).simd(X.i32x4DotI16x8S).simd(X.i32x4Add);
        }
        f.set(acc[i]![j]!);
      }
    f.inc(pa, 16 * rows).inc(pbp, 64);
    f.op(O.br, 0, O.end, O.end);
    for (let i = 0; i < rows; i++)
      storeRowPanel(f, {
        acc: acc[i]!,
        red,
        ptr: pa, // free after the k loop
        row: () => void f.get(m).i32(i).op(O.i32Add),
        panel: () => void f.get(p),
        offsetBySum: true,
      });
  };

  sweepPanelBlocks(() => {
    // whole tiles, then the plain rows
    f.get(rowHi).get(mFull).get(rowHi).get(mFull).op(O.i32LtS).op(O.select).set(mEnd);
    f.get(rowLo).set(m);
    f.op(O.block, 0x40, O.loop, 0x40);
    f.get(m).i32(mr).op(O.i32Add).get(mEnd).op(O.i32GtS, O.brIf, 1);
    f.for(
      p,
      () => f.get(pb),
      pe,
      1,
      () => tile(mr),
    );
    f.inc(m, mr);
    f.op(O.br, 0, O.end, O.end);
    f.op(O.block, 0x40, O.loop, 0x40);
    f.get(m).get(rowHi).op(O.i32GeS, O.brIf, 1);
    f.for(
      p,
      () => f.get(pb),
      pe,
      1,
      () => tile(1),
    );
    f.inc(m, 1);
    f.op(O.br, 0, O.end, O.end);
  });
  return f;
}
