/**
 * The int8 product's per-row quantization (core/tensor/int8.ts quantizeRow, the oracle) as a WASM SIMD
 * kernel: g = x[r]·colMul (the data path's s_n; none in the forward, where the multiply by 1 it stood
 * for is exact and skipped), max|g|, scale = max/127, codes round(g·(127/max)) into the GEMM's A
 * layout (int8-gemm.ts), and the GEMM's correction for B's +64: each row's code sum (int8-gemm.ts) or,
 * when offP is not 0, its i16 offset vectors (int8-gemm-relaxed.ts).
 *
 * Why it looks the way it does (it was ~3.6 cycles an element, a fifth of a 256×256 product's time):
 * - max|g| is the i32 maximum of the magnitudes' bit patterns (non-negative floats order as their bits;
 *   NaN and ±∞ sort above every finite value), one vpmaxsd a vector instead of f32x4.max's NaN fix-ups.
 *   A row holding NaN gets a NaN max, one with ±∞ (and no NaN) +∞: the oracle's Math.max gives the same.
 * - codes round with the 1.5·2²³ trick (t + 1.5·2²³ rounds t to the nearest integer, ties to even,
 *   as f32x4.nearest, for |t| < 2²²) and keep it only where |t| < 2²², else 0: exactly the oracle's
 *   codes, whose NaN (0·∞ in a zero row, ∞·0 in a row with ∞) and ±∞ (127/max overflowing for
 *   max < 3.7e-37) become 0 when stored to an Int8Array. i32x4.trunc_sat_f32x4_s's fix-ups go too.
 * - pointers advance instead of being recomputed from k every load.
 * - a row whose max and 127/max are both finite (nearly every row) takes a copy of pass 2 without the
 *   |t| < 2²² check: its codes cannot leave [−127, 127] (620×1024 rows: 0.25 → 0.19 ms, one thread, Node 24).
 *   Zero, NaN, ±∞ and subnormal-max rows keep the checked loop (the parity test has each).
 */
import { F32, Fn, I32, O, S, V128, type ValType } from './encoder.ts';

/** The kernel's i32 argument count (pool.ts: at most 18). */
export const INT8_QUANT_ARGS = 12;

const MAGIC = 12582912; // 1.5·2²³
const MAGIC_BITS = 0x4b400000;
const ROUND_LIMIT = 4194304; // 2²²: below it the magic sum's low bits are the rounded integer
const SIMD = {
  i32x4Extract: 0x1b,
  i8x16NarrowI16x8S: 0x65,
  i16x8NarrowI32x4S: 0x85,
  i32x4MaxS: 0xb8,
  i16x8ExtaddPairwiseI8x16S: 0x7c,
  i16x8Add: 0x8e,
  i16x8Shl: 0x8b,
} as const;
const C = {
  i32ShrU: 0x76,
  i32Store8: 0x3a,
  i32DivU: 0x6e,
  i32RemU: 0x70,
  i32LtU: 0x49,
  i32GtS: 0x4a,
  f32Nearest: 0x90,
  i32ReinterpretF32: 0xbc,
} as const;

/**
 * int8_quant_rows(xP, ldx, colMulP, K, aP, Kp, mFull, scaleP, sumP, rowLo, rowHi, offP): rows [rowLo, rowHi)
 * of x (ldx bytes apart), each multiplied by colMul[k] first unless colMulP is 0; codes into A's layout
 * (rows below mFull in tiles of `mr` rows interleaved by 16-byte k-blocks, the rest plain, Kp bytes a row),
 * scale[r], sum[r] and, unless offP is 0, the offsets (Kp/2 bytes a row, in A's tile order). Kp is a
 * multiple of 32.
 */
export function int8QuantFn(mr: number): Fn {
  const f = new Fn('int8_quant_rows', new Array<ValType>(INT8_QUANT_ARGS).fill(I32));
  const [xP, ldx, colMulP, K, aP, Kp, mFull, scaleP, sumP, rowLo, rowHi, offP] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const r = f.local(I32),
    xr = f.local(I32),
    p = f.local(I32),
    cm = f.local(I32),
    end4 = f.local(I32),
    end16 = f.local(I32),
    endK = f.local(I32),
    d = f.local(I32),
    stride = f.local(I32),
    s = f.local(I32),
    code = f.local(I32),
    bits = f.local(I32),
    mbits = f.local(I32),
    mx = f.local(F32),
    inv = f.local(F32),
    t = f.local(F32),
    vmax = f.local(V128),
    vinv = f.local(V128),
    vsum = f.local(V128),
    vt = f.local(V128),
    d0 = f.local(I32),
    o = f.local(I32),
    q = f.local(I32);
  const iv = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];

  /** Pushes g for the 4 floats at p + off (· colMul at cm + off when `mul`). */
  const loadG = (mul: boolean, off: number): void => {
    f.get(p).vload(off);
    if (mul) f.get(cm).vload(off).simd(S.f32x4Mul);
  };
  const loadGScalar = (mul: boolean): void => {
    f.get(p).load(O.f32Load);
    if (mul) f.get(cm).load(O.f32Load).op(O.f32Mul);
  };
  const advance = (mul: boolean, bytes: number): void => {
    f.inc(p, bytes);
    if (mul) f.inc(cm, bytes);
  };
  /**
   * Pushes the i32x4 codes of t in local vt: magic-rounded, and (`checked`) kept only where |t| < 2²², else 0.
   * A row whose max and 127/max are finite has |t| ≤ 127·(1 + 2⁻²³) in every lane, so it skips the check.
   */
  const codes = (checked: boolean): void => {
    f.get(vt);
    f.f32x4Const(MAGIC);
    f.simd(S.f32x4Add);
    f.i32x4Const(MAGIC_BITS);
    f.simd(S.i32x4Sub);
    if (!checked) return;
    f.get(vt).simd(S.f32x4Abs);
    f.f32x4Const(ROUND_LIMIT);
    f.simd(S.f32x4Lt).simd(S.and);
  };

  /** while (ptr < end, unsigned) body(); the body advances ptr. */
  const whileBelow = (ptr: number, end: number, body: () => void): void => {
    f.op(O.block, 0x40, O.loop, 0x40);
    f.get(ptr).get(end).op(O.i32GeU, O.brIf, 1);
    body();
    f.op(O.br, 0, O.end, O.end);
  };

  const row = (mul: boolean): void => {
    f.get(xP).get(r).get(ldx).op(O.i32Mul).op(O.i32Add).set(xr);
    f.get(xr).get(K).i32(~3).op(O.i32And).i32(2).op(O.i32Shl).op(O.i32Add).set(end4);
    f.get(xr).get(K).i32(~15).op(O.i32And).i32(2).op(O.i32Shl).op(O.i32Add).set(end16);
    f.get(xr).get(K).i32(2).op(O.i32Shl).op(O.i32Add).set(endK);
    // where row r's k-blocks go, and the distance between them
    f.if(
      () => f.get(r).get(mFull).op(C.i32LtU),
      () => {
        f.get(aP).get(r).i32(mr).op(C.i32DivU).i32(mr).op(O.i32Mul).get(Kp).op(O.i32Mul).op(O.i32Add);
        f.get(r).i32(mr).op(C.i32RemU).i32(4).op(O.i32Shl).op(O.i32Add).set(d);
        f.i32(16 * mr).set(stride);
      },
      () => {
        f.get(aP).get(r).get(Kp).op(O.i32Mul).op(O.i32Add).set(d);
        f.i32(16).set(stride);
      },
    );
    f.get(d).set(d0);
    // pass 1: the largest magnitude's bits
    f.v128Zero().set(vmax);
    f.get(xr).set(p);
    f.get(colMulP).set(cm);
    whileBelow(p, end4, () => {
      f.get(vmax);
      loadG(mul, 0);
      f.i32x4Const(0x7fffffff);
      f.simd(S.and).simd(SIMD.i32x4MaxS).set(vmax);
      advance(mul, 16);
    });
    f.i32(0).set(mbits);
    whileBelow(p, endK, () => {
      loadGScalar(mul);
      f.op(C.i32ReinterpretF32).i32(0x7fffffff).op(O.i32And).set(bits);
      f.get(bits).get(mbits).get(bits).get(mbits).op(C.i32GtS).op(O.select).set(mbits);
      advance(mul, 4);
    });
    for (let l = 0; l < 4; l++) {
      f.get(vmax).simd(SIMD.i32x4Extract, l).set(bits);
      f.get(bits).get(mbits).get(bits).get(mbits).op(C.i32GtS).op(O.select).set(mbits);
    }
    f.get(mbits).op(O.f32ReinterpretI32).set(mx);
    f.f32(127).get(mx).op(O.f32Div).set(inv);
    f.get(scaleP).get(r).i32(2).op(O.i32Shl).op(O.i32Add).get(mx).f32(127).op(O.f32Div).load(O.f32Store);
    f.get(inv).simd(S.f32x4Splat).set(vinv);
    // a whole padding block when ceil16(K) < Kp (Kp is a multiple of 32): zero codes
    f.if(
      () => f.get(K).i32(15).op(O.i32Add).i32(4).op(C.i32ShrU).get(Kp).i32(4).op(C.i32ShrU).op(O.i32LtS),
      () =>
        f
          .get(d0)
          .get(Kp)
          .i32(4)
          .op(C.i32ShrU)
          .i32(1)
          .op(O.i32Sub)
          .get(stride)
          .op(O.i32Mul)
          .op(O.i32Add)
          .v128Zero()
          .vstore(0),
    );
    // pass 2: codes, 16 at a time, narrowed i32 → i16 → i8 (|code| ≤ 127: no saturation)
    f.v128Zero().set(vsum);
    f.get(xr).set(p);
    f.get(colMulP).set(cm);
    const blocks16 = (checked: boolean): void =>
      whileBelow(p, end16, () => {
        for (let j = 0; j < 4; j++) {
          loadG(mul, 16 * j);
          f.get(vinv).simd(S.f32x4Mul).set(vt);
          codes(checked);
          f.tee(iv[j]!).get(vsum).simd(S.i32x4Add).set(vsum);
        }
        f.get(d);
        f.get(iv[0]!).get(iv[1]!).simd(SIMD.i16x8NarrowI32x4S);
        f.get(iv[2]!).get(iv[3]!).simd(SIMD.i16x8NarrowI32x4S);
        f.simd(SIMD.i8x16NarrowI16x8S).vstore(0);
        f.inc(d, () => f.get(stride));
        advance(mul, 64);
      });
    // max and 127/max both finite (bits below +∞'s): the unchecked codes
    f.if(
      () => {
        f.get(mbits).i32(0x7f800000).op(C.i32LtU);
        f.get(inv).op(C.i32ReinterpretF32).i32(0x7fffffff).op(O.i32And).i32(0x7f800000).op(C.i32LtU);
        f.op(O.i32And);
      },
      () => blocks16(false),
      () => blocks16(true),
    );
    f.i32(0).set(s);
    f.if(
      () => f.get(p).get(endK).op(C.i32LtU),
      () => {
        f.get(d).v128Zero().vstore(0); // the partial block's padding codes are 0
        whileBelow(p, endK, () => {
          loadGScalar(mul);
          f.get(inv).op(O.f32Mul).set(t);
          // the same codes as the vector path: nearest (ties even) where |t| < 2²², else 0
          f.get(t).op(C.f32Nearest).op(0xfc, 0x00); // i32.trunc_sat_f32_s
          f.i32(0);
          f.get(t).op(O.f32Abs).f32(ROUND_LIMIT).op(O.f32Lt).op(O.select).set(code);
          f.get(d).get(code).op(C.i32Store8, 0, 0);
          f.inc(d, 1);
          f.get(s).get(code).op(O.i32Add).set(s);
          advance(mul, 4);
        });
      },
    );
    // the relaxed GEMM's i16 offsets (int8-gemm-relaxed.ts): per pair of k-blocks, 64 × the sums of the four
    // codes each i16 lane of its two relaxed dots covers, in A's tile order (16 bytes a pair, Kp/2 a row)
    f.if(
      () => f.get(offP),
      () => {
        // row r's first pair: its tile's base / 2 (pairs take 16·mr bytes, the codes' 32·mr), then 16·(r mod mr)
        f.get(offP).get(d0).get(aP).op(O.i32Sub).i32(1).op(C.i32ShrU).op(O.i32Add);
        f.get(r).i32(mr).op(C.i32RemU).i32(3).op(O.i32Shl).i32(0);
        f.get(r).get(mFull).op(C.i32LtU).op(O.select).op(O.i32Add).set(o);
        f.get(d0).get(Kp).i32(4).op(C.i32ShrU).get(stride).op(O.i32Mul).op(O.i32Add).set(q);
        whileBelow(d0, q, () => {
          f.get(o);
          f.get(d0).vload(0).simd(SIMD.i16x8ExtaddPairwiseI8x16S);
          f.get(d0).get(stride).op(O.i32Add).vload(0).simd(SIMD.i16x8ExtaddPairwiseI8x16S);
          f.simd(SIMD.i16x8Add).i32(6).simd(SIMD.i16x8Shl).vstore(0);
          f.inc(o, () => f.get(stride));
          f.inc(d0, () => f.get(stride).i32(1).op(O.i32Shl));
        });
      },
    );
    f.get(sumP).get(r).i32(2).op(O.i32Shl).op(O.i32Add);
    f.get(s);
    for (let l = 0; l < 4; l++) f.get(vsum).simd(SIMD.i32x4Extract, l).op(O.i32Add);
    f.op(O.i32Store, 2, 0);
  };

  f.for(
    r,
    () => f.get(rowLo),
    rowHi,
    1,
    () =>
      f.if(
        () => f.get(colMulP).op(O.i32Eqz),
        () => row(false),
        () => row(true),
      ),
  );
  return f;
}
