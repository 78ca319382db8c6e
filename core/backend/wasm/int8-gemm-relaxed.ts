/**
 * The int8 GEMM of core/tensor/int8.ts on relaxed SIMD's 8-bit i16 dot: the WASM backend's fastest where
 * V8 has no AVX-VNNI path (Node 20 and 22; int8-kernel.ts chooses). The shared epilogue and the layouts are
 * int8-gemm.ts.
 *
 * x64 without AVX-VNNI (Node 20's V8 11.3 has no VNNI path) lowers `i16x8.relaxed_dot_i8x16_i7x16_s`
 * to pmaddubsw: 16 multiply-adds into eight i16 pair sums. Widening them to i32 takes a second
 * multiply (pmaddwd against ones), so one widening per 16-byte k-block costs 2 multiplying instructions
 * per 16 multiply-adds. This kernel widens once per two blocks:
 * - B holds codes + 64 ∈ [1, 127] (the dot's second operand must stay in [0, 127]); A holds
 *   activation codes in [−127, 127], so a pair sum is at most 2·127·127 < 2¹⁵: pmaddubsw never saturates.
 * - Two blocks' pair sums are added in i16, wrapping, and the row's offset vector subtracted (64 × the
 *   same four A codes each lane covers, written by the quantize kernel): what is left is four exact
 *   products of codes, |·| ≤ 4·127·63 < 2¹⁵, so the wrapping arithmetic lands on it exactly.
 * - One i32x4.dot_i16x8_s against ones widens it. 3 multiplying instructions for 32 multiply-adds, not 4.
 * Not i32x4.relaxed_dot_i8x16_i7x16_add_s: without VNNI V8 lowers it to pmaddubsw + pmaddwd + paddd, one
 * widening a block, and V8 11.3 miscompiles it (int8-kernel.ts).
 *
 * A tile is one row against one panel of 4 columns: V8's register allocator spills past about 12 live
 * vectors, and on this loop every bigger tile measured slower (bench/int8-micro.ts, one thread, 620×256·256:
 * 0.67 ms; two panels 0.84, two rows 0.93, two k-steps a trip 0.94; the kernel before it, one widening a
 * block and two rows, 0.78).
 * The accumulators hold exact sums (the +64 is gone), so the epilogue does not subtract 64·Σa.
 */
import { I32, O, uleb, V128, type Fn } from './encoder.ts';
import { C, GEMM_ARG, int8GemmFrame, storeRowPanel, X } from './int8-gemm.ts';

/** Rows per tile (A's layout: int8-quant.ts writes rows plain when this is 1). */
export const INT8_RELAXED_MR = 1;

/** int8_gemm with int8GemmFn's arguments and result; offP: A's i16 offsets, Kp/2 bytes a row. */
export function int8GemmRelaxedFn(): Fn {
  const { f, pb, pe, m, p, pa, pbp, aEnd, sweepPanelBlocks } = int8GemmFrame();
  const { aP, bP, rowLo, rowHi, Kp, offP } = GEMM_ARG;
  const po = f.local(I32);
  const acc = Array.from({ length: 4 }, () => f.local(V128));
  const a0 = f.local(V128),
    a1 = f.local(V128),
    off = f.local(V128),
    b0 = f.local(V128),
    b1 = f.local(V128),
    ones = f.local(V128);
  const red = [f.local(V128), f.local(V128)] as const;

  /** Row m against panel p. */
  const tile = (): void => {
    for (const a of acc) f.v128Zero().set(a);
    f.get(aP).get(m).get(Kp).op(O.i32Mul).op(O.i32Add).tee(pa).get(Kp).op(O.i32Add).set(aEnd);
    f.get(offP).get(m).get(Kp).i32(1).op(C.i32ShrU).op(O.i32Mul).op(O.i32Add).set(po);
    f.get(bP).get(p).get(Kp).op(O.i32Mul).i32(2).op(O.i32Shl).op(O.i32Add).set(pbp);
    f.op(O.block, 0x40, O.loop, 0x40);
    f.get(pa).get(aEnd).op(O.i32GeU, O.brIf, 1);
    f.get(pa).simd(X.load, 4, 0).set(a0);
    f.get(pa).simd(X.load, 4, 16).set(a1);
    f.get(po).simd(X.load, 4, 0).set(off);
    acc.forEach((a, j) => {
      // B's panel: [c0 k0..15][c1 k0..15][c2 …][c3 …][c0 k16..31]…, 128 bytes a pair of blocks
      f.get(pbp)
        .simd(X.load, 4, ...uleb(16 * j))
        .set(b0);
      f.get(pbp)
        .simd(X.load, 4, ...uleb(64 + 16 * j))
        .set(b1);
      f.get(a);
      f.get(a0).get(b0).simd(X.i16x8RelaxedDotI8x16I7x16S);
      f.get(a1).get(b1).simd(X.i16x8RelaxedDotI8x16I7x16S);
      f.simd(X.i16x8Add).get(off).simd(X.i16x8Sub);
      f.get(ones).simd(X.i32x4DotI16x8S).simd(X.i32x4Add).set(a);
    });
    f.inc(pa, 32).inc(po, 16).inc(pbp, 128);
    f.op(O.br, 0, O.end, O.end);
    storeRowPanel(f, {
      acc,
      red,
      ptr: pa, // free after the k loop
      row: () => void f.get(m),
      panel: () => void f.get(p),
      offsetBySum: false,
    });
  };

  f.i32(1).simd(X.i16x8Splat).set(ones);
  sweepPanelBlocks(() =>
    f.for(
      m,
      () => f.get(rowLo),
      rowHi,
      1,
      () => f.for(p, () => f.get(pb), pe, 1, tile),
    ),
  );
  return f;
}
