/**
 * The int8 kernels of core/tensor/int8.ts as WASM SIMD: one that quantizes f32 rows on the fly, one
 * integer GEMM on relaxed SIMD's 8-bit dot (16 multiply-adds a vector: `i16x8.relaxed_dot_i8x16_i7x16_s`
 * then `i32x4.extadd_pairwise_i16x8_s`, on x64 pmaddubsw + pmaddwd, the lowering V8 gives the fused
 * i32x4 form without AVX-VNNI; see the tile for why not the fused form). The dot is deterministic
 * only while its second operand is in [0, 127], so B holds the 7-bit weight codes + 64
 * and the epilogue subtracts 64·Σ_k a_k (the quantize kernel writes that sum per row): every integer
 * is exact, the f32 steps are the oracle's, and the result is the CPU reference's bit for bit.
 *
 * Layouts (K padded to Kp, a multiple of 16, with zero codes):
 * - A, the quantized rows: rows below mFull in tiles of MR rows, each tile interleaved by 16-byte
 *   k-blocks ([r0 k0..15][r1 k0..15]…[r0 k16..31]…); rows from mFull on plain, Kp bytes each. Tile t and
 *   plain row r both start at row·Kp, so a row's block base never needs the tile count.
 * - B, the codes + 64 of the output columns' weights: panels of 4 columns interleaved the same way
 *   (panel p at p·4·Kp). The forward's B is W [N, K]; the backward's (dy·W, reduced over N) is Wᵀ.
 * Without relaxed SIMD (`relaxed` false) the same kernel widens both operands to i16 and uses the
 * standard i32x4.dot_i16x8_s: the same integers, about half the speed.
 * A tile computes MR×4 outputs in MR·4 i32x4 accumulators; the 4 lanes of each are summed with two
 * rounds of shuffles, which leaves the 4 columns of a row in one vector for a SIMD epilogue.
 */
import { Fn, I32, O, uleb, V128, type ValType } from './encoder.ts';

/** Rows per register tile: MR·4 accumulators + MR + 4 operand vectors fit x64's 16 xmm with AVX-VNNI. */
export const INT8_MR = 2;
/** The GEMM's i32 argument count (pool.ts: at most 18); the row quantization is int8-quant.ts. */
export const INT8_GEMM_ARGS = 16;

/** SIMD opcodes (after 0xfd) these kernels use beyond encoder.ts's table. */
const X = {
  load: 0x00,
  store: 0x0b,
  shuffle: 0x0d,
  i32x4Splat: 0x11,
  f32x4Splat: 0x13,
  i32x4Extract: 0x1b,
  f32x4Extract: 0x1f,
  i8x16NarrowI16x8S: 0x65,
  f32x4Nearest: 0x6a,
  i16x8NarrowI32x4S: 0x85,
  i32x4Add: 0xae,
  i32x4Sub: 0xb1,
  f32x4Abs: 0xe0,
  f32x4Add: 0xe4,
  f32x4Mul: 0xe6,
  f32x4Max: 0xe9,
  i32x4TruncSatF32x4S: 0xf8,
  f32x4ConvertI32x4S: 0xfa,
  i16x8ExtendLowI8x16S: 0x87,
  i16x8ExtendHighI8x16S: 0x88,
  i32x4DotI16x8S: 0xba,
  i32x4ExtaddPairwiseI16x8S: 0x7e,
  i16x8RelaxedDotI8x16I7x16S: 0x112,
} as const;
/** Scalar opcodes beyond encoder.ts's table. */
const C = { f32Nearest: 0x90, i32Store8: 0x3a, i32DivU: 0x6e, i32RemU: 0x70, i32LtU: 0x49, f32Load: 0x2a } as const;

/** Byte lanes of i32 lanes [l0, l1, l2, l3] of two shuffled vectors (0–3: the first, 4–7: the second). */
const lanes = (...l: number[]): number[] => l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);

/**
 * int8_gemm(aP, bP, cP, ldc, rowLo, rowHi, mFull, panelLo, panelHi, Kp, rowScaleP, rowSumP, colScaleP,
 * biasP, N, blockPanels): C[m, 4p + j] = f32(Σ_k A[m,k]·(B[4p+j,k] − 64)) · f32(rowScale[m]·colScale[4p+j])
 * + bias[4p+j] for rows [rowLo, rowHi) and panels [panelLo, panelHi); columns ≥ N are not stored.
 * colScale and bias hold whole panels (padded to a multiple of 4). Panels are swept in blocks of
 * `blockPanels`, every row against one block before the next, so the block stays in L1/L2.
 */
export function int8GemmFn(relaxed: boolean, mr = INT8_MR): Fn {
  const f = new Fn('int8_gemm', new Array<ValType>(INT8_GEMM_ARGS).fill(I32));
  const [aP, bP, cP, ldc, rowLo, rowHi, mFull, panelLo, panelHi, Kp, rowScaleP, rowSumP, colScaleP, biasP, N, blk] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  ];
  const pb = f.local(I32),
    pe = f.local(I32),
    m = f.local(I32),
    mEnd = f.local(I32),
    p = f.local(I32),
    pa = f.local(I32),
    pbp = f.local(I32),
    aEnd = f.local(I32);
  const acc = Array.from({ length: mr }, () => Array.from({ length: 4 }, () => f.local(V128)));
  const av = Array.from({ length: mr }, () => f.local(V128));
  const bv = Array.from({ length: 4 }, () => f.local(V128));
  const red = [f.local(V128), f.local(V128)];

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
        // i16x8.relaxed_dot_i8x16_i7x16_s (pair sums, |·| ≤ 2·128·127 < 2¹⁵: no saturation), widened
        // pairwise to i32 and added. Not i32x4.relaxed_dot_i8x16_i7x16_add_s: Node 20's V8 (11.3)
        // miscompiles it with several accumulators live (rows of a tile came out wrong in the parity test).
        if (relaxed)
          f.get(acc[i]![j]!)
            .get(av[i]!)
            .get(bv[j]!)
            .simd(X.i16x8RelaxedDotI8x16I7x16S)
            .simd(X.i32x4ExtaddPairwiseI16x8S)
            .simd(X.i32x4Add);
        else {
          // without relaxed SIMD: widen to i16 and take i32x4.dot_i16x8_s twice (the same exact integers)
          f.get(acc[i]![j]!);
          for (const half of [X.i16x8ExtendLowI8x16S, X.i16x8ExtendHighI8x16S]) {
            f.get(av[i]!).simd(half).get(bv[j]!).simd(half).simd(X.i32x4DotI16x8S).simd(X.i32x4Add);
          }
        }
        f.set(acc[i]![j]!);
      }
    f.inc(pa, 16 * rows).inc(pbp, 64);
    f.op(O.br, 0, O.end, O.end);
    for (let i = 0; i < rows; i++) {
      const [a0, a1, a2, a3] = acc[i]!;
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
      pair(a0!, a1!, red[0]!);
      pair(a2!, a3!, red[1]!);
      const row = (): void => void f.get(m).i32(i).op(O.i32Add).i32(2).op(O.i32Shl);
      const col = (): void => void f.get(p).i32(4).op(O.i32Shl);
      // address of C[m + i, 4p]
      f.get(cP).get(m).i32(i).op(O.i32Add).get(ldc).op(O.i32Mul).op(O.i32Add);
      col();
      f.op(O.i32Add).set(pa); // pa is free after the k loop
      f.get(red[0]!)
        .get(red[1]!)
        .simd(X.shuffle, ...lanes(0, 1, 4, 5));
      f.get(red[0]!)
        .get(red[1]!)
        .simd(X.shuffle, ...lanes(2, 3, 6, 7));
      f.simd(X.i32x4Add);
      f.get(rowSumP);
      row();
      f.op(O.i32Add).load(O.i32Load).i32(6).op(O.i32Shl).simd(X.i32x4Splat).simd(X.i32x4Sub);
      f.simd(X.f32x4ConvertI32x4S);
      f.get(rowScaleP);
      row();
      f.op(O.i32Add).load(C.f32Load).simd(X.f32x4Splat);
      f.get(colScaleP);
      col();
      f.op(O.i32Add).simd(X.load, 4, 0).simd(X.f32x4Mul).simd(X.f32x4Mul);
      f.get(biasP);
      col();
      f.op(O.i32Add).simd(X.load, 4, 0).simd(X.f32x4Add).set(red[0]!);
      f.if(
        () => f.get(p).i32(2).op(O.i32Shl).i32(4).op(O.i32Add).get(N).op(O.i32LeS),
        () => f.get(pa).get(red[0]!).simd(X.store, 4, 0),
        () => {
          for (let j = 0; j < 4; j++)
            f.if(
              () => f.get(p).i32(2).op(O.i32Shl).i32(j).op(O.i32Add).get(N).op(O.i32LtS),
              () =>
                f
                  .get(pa)
                  .get(red[0]!)
                  .simd(X.f32x4Extract, j)
                  .load(O.f32Store, 4 * j),
            );
        },
      );
    }
  };

  f.for(
    pb,
    () => f.get(panelLo),
    panelHi,
    () => f.get(blk),
    () => {
      f.get(pb).get(blk).op(O.i32Add).tee(pe).get(panelHi).get(pe).get(panelHi).op(O.i32LtS).op(O.select).set(pe);
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
    },
  );
  return f;
}
