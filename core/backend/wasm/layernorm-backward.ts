/**
 * LayerNorm's backward for f32 on the WASM backend (the forward and the shared row helpers are in
 * layernorm.ts): llm.c's dx = rstd·(dŷ − mean(dŷ) − x̂·mean(dŷ·x̂)), dŷ = dy·w, in f32 sums.
 *
 * Rows are split across the pool. dWeight / dBias are sums over every row, so each chunk adds its
 * rows into its own [2, C] partial (no atomics, and the result does not depend on which thread ran
 * which chunk), and `col_sum` then adds the partials in chunk order on the calling thread.
 */
import type { TensorRef } from '../backend.ts';
import { F32, Fn, I32, O, S, V128 } from './encoder.ts';
import { rowSplit } from './layout.ts';
import { at, hsum, rowLocals, type LnHost } from './layernorm.ts';

/** dx [R, C] at dxP; with `params`, dWeight [C] and dBias [C] at its dwP, dbP (frozen γ/β need only dx). */
export function layerNormBackward(
  h: LnHost,
  dy: TensorRef,
  x: TensorRef,
  w: TensorRef,
  mean: TensorRef,
  rstd: TensorRef,
  R: number,
  C: number,
  dxP: number,
  params?: { dwP: number; dbP: number },
): void {
  const dyP = h.input(dy),
    xP = h.input(x),
    wP = h.input(w),
    mP = h.input(mean),
    rP = h.input(rstd);
  const nc = h.chunks(R * C, R);
  if (!params) {
    h.run(
      'layer_norm_dx',
      rowSplit(R, nc, (lo, hi) => [dyP, xP, wP, mP, rP, dxP, 0, C, lo, hi]),
    );
    return;
  }
  const { dwP, dbP } = params,
    partP = h.scratch(8 * C * nc);
  h.run(
    'layer_norm_bwd',
    rowSplit(R, nc, (lo, hi, t) => [dyP, xP, wP, mP, rP, dxP, partP + 8 * C * t, C, lo, hi]),
  );
  // one chunk each: runs on the caller, no worker wake-up for a few thousand adds
  h.run('col_sum', [[partP, 8 * C, nc, dwP, C]]);
  h.run('col_sum', [[partP + 4 * C, 8 * C, nc, dbP, C]]);
}

/**
 * layer_norm_bwd(dyP, xP, wP, meanP, rstdP, dxP, partP, C, rowStart, rowEnd): dx for the rows, and
 * their Σ dy·x̂ / Σ dy added into partP [2, C] (zeroed here first: the scratch is not).
 * `params` false gives layer_norm_dx, same arguments, partP unused.
 */
export function layerNormBwdFn(params: boolean): Fn {
  const f = new Fn(params ? 'layer_norm_bwd' : 'layer_norm_dx', new Array(10).fill(I32));
  const [dyP, xP, wP, meanP, rstdP, dxP, partP, C, rowStart, rowEnd] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
  const { cb, cvb, cf } = rowLocals(f, C);
  const r = f.local(I32),
    j = f.local(I32),
    pdy = f.local(I32),
    px = f.local(I32),
    pdx = f.local(I32),
    pdb = f.local(I32),
    c2b = f.local(I32);
  const m = f.local(F32),
    rs = f.local(F32),
    sD = f.local(F32),
    sDX = f.local(F32),
    xh = f.local(F32),
    dyh = f.local(F32),
    dyv = f.local(F32);
  const vm = f.local(V128),
    vrs = f.local(V128),
    vD = f.local(V128),
    vDX = f.local(V128),
    vxh = f.local(V128),
    vdy = f.local(V128),
    vdyh = f.local(V128);
  f.get(cb).i32(1).op(O.i32Shl).set(c2b);
  if (params)
    f.for(
      j,
      () => f.i32(0),
      c2b,
      4,
      () => {
        at(f, partP, j).f32(0).load(O.f32Store);
      },
    );
  f.get(partP).get(cb).op(O.i32Add).set(pdb);
  const rowPtr = (base: number, to: number) => f.get(base).get(r).get(cb).op(O.i32Mul).op(O.i32Add).set(to);
  const perRow = (arr: number, to: number) =>
    f.get(arr).get(r).i32(2).op(O.i32Shl).op(O.i32Add).load(O.f32Load).set(to);
  f.for(
    r,
    () => f.get(rowStart),
    rowEnd,
    1,
    () => {
      rowPtr(dyP, pdy);
      rowPtr(xP, px);
      rowPtr(dxP, pdx);
      perRow(meanP, m);
      perRow(rstdP, rs);
      f.get(m).simd(S.f32x4Splat).set(vm);
      f.get(rs).simd(S.f32x4Splat).set(vrs);
      // pass 1: Σ dŷ, Σ dŷ·x̂ for the row; dw += dy·x̂, db += dy into the partials
      f.v128Zero().set(vD);
      f.v128Zero().set(vDX);
      f.for(
        j,
        () => f.i32(0),
        cvb,
        16,
        () => {
          at(f, px, j).vload().get(vm).simd(S.f32x4Sub).get(vrs).simd(S.f32x4Mul).set(vxh);
          at(f, pdy, j).vload().tee(vdy);
          at(f, wP, j).vload().simd(S.f32x4Mul).set(vdyh);
          f.get(vD).get(vdyh).simd(S.f32x4Add).set(vD);
          f.get(vDX).get(vdyh).get(vxh).simd(S.f32x4Mul).simd(S.f32x4Add).set(vDX);
          if (params) {
            at(f, partP, j);
            at(f, partP, j).vload().get(vdy).get(vxh).simd(S.f32x4Mul).simd(S.f32x4Add).vstore();
            at(f, pdb, j);
            at(f, pdb, j).vload().get(vdy).simd(S.f32x4Add).vstore();
          }
        },
      );
      hsum(f, vD);
      f.set(sD);
      hsum(f, vDX);
      f.set(sDX);
      f.for(
        j,
        () => f.get(cvb),
        cb,
        4,
        () => {
          at(f, px, j).load(O.f32Load).get(m).op(O.f32Sub).get(rs).op(O.f32Mul).set(xh);
          at(f, pdy, j).load(O.f32Load).tee(dyv);
          at(f, wP, j).load(O.f32Load).op(O.f32Mul).set(dyh);
          f.get(sD).get(dyh).op(O.f32Add).set(sD);
          f.get(sDX).get(dyh).get(xh).op(O.f32Mul).op(O.f32Add).set(sDX);
          if (params) {
            at(f, partP, j);
            at(f, partP, j).load(O.f32Load).get(dyv).get(xh).op(O.f32Mul).op(O.f32Add).load(O.f32Store);
            at(f, pdb, j);
            at(f, pdb, j).load(O.f32Load).get(dyv).op(O.f32Add).load(O.f32Store);
          }
        },
      );
      f.get(sD).get(cf).op(O.f32Div).tee(sD).simd(S.f32x4Splat).set(vD);
      f.get(sDX).get(cf).op(O.f32Div).tee(sDX).simd(S.f32x4Splat).set(vDX);
      // pass 2: dx = rstd·(dy·w − mean(dŷ) − x̂·mean(dŷ·x̂)), in the reference's order
      f.for(
        j,
        () => f.i32(0),
        cvb,
        16,
        () => {
          at(f, pdx, j).get(vrs);
          at(f, pdy, j).vload();
          at(f, wP, j).vload().simd(S.f32x4Mul).get(vD).simd(S.f32x4Sub);
          at(f, px, j).vload().get(vm).simd(S.f32x4Sub).get(vrs).simd(S.f32x4Mul).get(vDX).simd(S.f32x4Mul);
          f.simd(S.f32x4Sub).simd(S.f32x4Mul).vstore();
        },
      );
      f.for(
        j,
        () => f.get(cvb),
        cb,
        4,
        () => {
          at(f, pdx, j).get(rs);
          at(f, pdy, j).load(O.f32Load);
          at(f, wP, j).load(O.f32Load).op(O.f32Mul).get(sD).op(O.f32Sub);
          at(f, px, j).load(O.f32Load).get(m).op(O.f32Sub).get(rs).op(O.f32Mul).get(sDX).op(O.f32Mul);
          f.op(O.f32Sub).op(O.f32Mul).load(O.f32Store);
        },
      );
    },
  );
  return f;
}

/** col_sum(srcP, strideBytes, count, dstP, n): dst[j] = Σ_k src[k·stride + j] over k = 0 … count − 1 in order. */
export function colSumFn(): Fn {
  const f = new Fn('col_sum', new Array(5).fill(I32));
  const [srcP, stride, count, dstP, n] = [0, 1, 2, 3, 4] as const;
  const { cb, cvb } = rowLocals(f, n);
  const j = f.local(I32),
    k = f.local(I32),
    p = f.local(I32),
    acc = f.local(V128),
    s = f.local(F32);
  f.for(
    j,
    () => f.i32(0),
    cvb,
    16,
    () => {
      f.v128Zero().set(acc);
      at(f, srcP, j).set(p);
      f.for(
        k,
        () => f.i32(0),
        count,
        1,
        () => {
          f.get(acc).get(p).vload().simd(S.f32x4Add).set(acc);
          f.inc(p, () => f.get(stride));
        },
      );
      at(f, dstP, j).get(acc).vstore();
    },
  );
  f.for(
    j,
    () => f.get(cvb),
    cb,
    4,
    () => {
      f.f32(0).set(s);
      at(f, srcP, j).set(p);
      f.for(
        k,
        () => f.i32(0),
        count,
        1,
        () => {
          f.get(s).get(p).load(O.f32Load).op(O.f32Add).set(s);
          f.inc(p, () => f.get(stride));
        },
      );
      at(f, dstP, j).get(s).load(O.f32Store);
    },
  );
  return f;
}
