/**
 * LayerNorm's forward for f32 on the WASM backend, with the CPU reference's semantics
 * (core/backend/cpu/nn.ts: biased variance from a second pass over x − mean, eps inside the sqrt),
 * but f32 sums; rows are split across the pool. The row helpers here serve the backward too
 * (layernorm-backward.ts).
 */
import type { TensorRef } from '../backend.ts';
import { F32, f32Bits, Fn, I32, O, S, V128 } from './encoder.ts';
import { rowSplit, type KernelHost } from './layout.ts';

export const LN_KERNELS = ['layer_norm', 'layer_norm_bwd', 'layer_norm_dx', 'col_sum'] as const;
export type LnKernel = (typeof LN_KERNELS)[number];

export type LnHost = KernelHost<LnKernel>;

/** x [R, C] → y [R, C], mean [R], rstd [R] at the given heap pointers. */
export function layerNormForward(
  h: LnHost,
  x: TensorRef,
  w: TensorRef,
  b: TensorRef,
  eps: number,
  R: number,
  C: number,
  yP: number,
  meanP: number,
  rstdP: number,
): void {
  const xP = h.input(x),
    wP = h.input(w),
    bP = h.input(b);
  h.run(
    'layer_norm',
    rowSplit(R, h.chunks(R * C, R), (lo, hi) => [xP, wP, bP, yP, meanP, rstdP, C, f32Bits(eps), lo, hi]),
  );
}

/** Row geometry shared by the kernels: byte counts of the row, its multiple-of-4 and multiple-of-8 prefixes. */
export function rowLocals(f: Fn, C: number) {
  const cb = f.local(I32),
    cvb = f.local(I32),
    c8b = f.local(I32),
    cf = f.local(F32);
  f.get(C).i32(2).op(O.i32Shl).set(cb);
  f.get(cb).i32(-16).op(O.i32And).set(cvb);
  f.get(cb).i32(-32).op(O.i32And).set(c8b);
  f.get(C).op(O.f32ConvertI32S).set(cf);
  return { cb, cvb, c8b, cf };
}

/** Pushes the sum of the lanes of v128 local a (plus those of b) as one f32. */
export function hsum(f: Fn, a: number, b?: number): void {
  if (b !== undefined) f.get(a).get(b).simd(S.f32x4Add).set(a);
  f.get(a).simd(S.f32x4Extract, 0);
  for (let l = 1; l < 4; l++) f.get(a).simd(S.f32x4Extract, l).op(O.f32Add);
}

/** addr(byteOffsetLocal) pushes the address base + j. */
export const at = (f: Fn, base: number, j: number) => f.get(base).get(j).op(O.i32Add);

/**
 * layer_norm(xP, wP, bP, yP, meanP, rstdP, C, epsBits, rowStart, rowEnd). The two reductions run
 * two v128 chains over 8 elements a step: one f32x4.add chain is bound by the add's latency, not
 * by loads; then one more vector when C has a 4, then the scalar tail.
 */
export function layerNormFn(): Fn {
  const f = new Fn('layer_norm', new Array(10).fill(I32));
  const [xP, wP, bP, yP, meanP, rstdP, C, epsBits, rowStart, rowEnd] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
  const { cb, cvb, c8b, cf } = rowLocals(f, C);
  const r = f.local(I32),
    j = f.local(I32),
    px = f.local(I32),
    py = f.local(I32);
  const eps = f.local(F32),
    m = f.local(F32),
    s = f.local(F32),
    rs = f.local(F32),
    ds = f.local(F32);
  const a0 = f.local(V128),
    a1 = f.local(V128),
    vm = f.local(V128),
    vrs = f.local(V128),
    d = f.local(V128);
  f.get(epsBits).op(O.f32ReinterpretI32).set(eps);
  /** s = Σ_j term over the row; vterm(off) pushes the v128 term at byte j + off, sterm() the f32 term at byte j. */
  const rowSum = (vterm: (off: number) => void, sterm: () => void) => {
    f.v128Zero().set(a0);
    f.v128Zero().set(a1);
    f.for(
      j,
      () => f.i32(0),
      c8b,
      32,
      () => {
        f.get(a0);
        vterm(0);
        f.simd(S.f32x4Add).set(a0);
        f.get(a1);
        vterm(16);
        f.simd(S.f32x4Add).set(a1);
      },
    );
    f.if(
      () => f.get(cvb).get(c8b).op(O.i32GtS),
      () => {
        f.get(a0);
        vterm(0);
        f.simd(S.f32x4Add).set(a0);
      },
    );
    hsum(f, a0, a1);
    f.set(s);
    f.for(
      j,
      () => f.get(cvb),
      cb,
      4,
      () => {
        f.get(s);
        sterm();
        f.op(O.f32Add).set(s);
      },
    );
  };
  f.for(
    r,
    () => f.get(rowStart),
    rowEnd,
    1,
    () => {
      f.get(xP).get(r).get(cb).op(O.i32Mul).op(O.i32Add).set(px);
      f.get(yP).get(r).get(cb).op(O.i32Mul).op(O.i32Add).set(py);
      rowSum(
        (off) => at(f, px, j).vload(off),
        () => at(f, px, j).load(O.f32Load),
      );
      f.get(s).get(cf).op(O.f32Div).set(m);
      f.get(m).simd(S.f32x4Splat).set(vm);
      rowSum(
        (off) => {
          at(f, px, j).vload(off).get(vm).simd(S.f32x4Sub).tee(d).get(d).simd(S.f32x4Mul);
        },
        () => {
          at(f, px, j).load(O.f32Load).get(m).op(O.f32Sub).tee(ds).get(ds).op(O.f32Mul);
        },
      );
      f.f32(1).get(s).get(cf).op(O.f32Div).get(eps).op(O.f32Add).op(O.f32Sqrt).op(O.f32Div).set(rs);
      f.get(rs).simd(S.f32x4Splat).set(vrs);
      f.get(meanP).get(r).i32(2).op(O.i32Shl).op(O.i32Add).get(m).load(O.f32Store);
      f.get(rstdP).get(r).i32(2).op(O.i32Shl).op(O.i32Add).get(rs).load(O.f32Store);
      // y = (x − m)·rs·w + b, in the reference's order
      f.for(
        j,
        () => f.i32(0),
        cvb,
        16,
        () => {
          at(f, py, j);
          at(f, px, j).vload().get(vm).simd(S.f32x4Sub).get(vrs).simd(S.f32x4Mul);
          at(f, wP, j).vload().simd(S.f32x4Mul);
          at(f, bP, j).vload().simd(S.f32x4Add).vstore();
        },
      );
      f.for(
        j,
        () => f.get(cvb),
        cb,
        4,
        () => {
          at(f, py, j);
          at(f, px, j).load(O.f32Load).get(m).op(O.f32Sub).get(rs).op(O.f32Mul);
          at(f, wP, j).load(O.f32Load).op(O.f32Mul);
          at(f, bP, j).load(O.f32Load).op(O.f32Add).load(O.f32Store);
        },
      );
    },
  );
  return f;
}
