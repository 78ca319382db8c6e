/**
 * Row kernels of fused attention on the WASM backend (the GEMMs around them reuse gemm.ts):
 * `softmax_rows` turns raw scores into probabilities in place, applying scale and the additive bias
 * (per-row offsets, inner stride 0 or 1) and recording each row's max and exp-sum for the lse;
 * `attn_ds` forms dS = P ⊙ (dP − D)·scale in place, D = dOut·out per row. Scalar tails reuse the vector exp on a splat.
 */
import { vexp } from './elementwise.ts';
import { F32, Fn, I32, O, S, V128 } from './encoder.ts';

/** softmax_rows(sPtr, biasPtr, offPtr, biasInner, mPtr, sumPtr, n, scaleBits, rowStart, rowEnd); `fma`: vexp's fused steps. */
export function softmaxRowsFn(fma = false): Fn {
  const f = new Fn('softmax_rows', new Array(10).fill(I32));
  const [sPtr, biasPtr, offPtr, biasInner, mPtr, sumPtr, n, scaleBits, rowStart, rowEnd] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
  ] as const;
  const r = f.local(I32),
    j = f.local(I32),
    nv = f.local(I32),
    ps = f.local(I32),
    pb = f.local(I32),
    sb = f.local(I32);
  const scale = f.local(F32),
    m = f.local(F32),
    sum = f.local(F32),
    x1 = f.local(F32);
  const vscale = f.local(V128),
    vm = f.local(V128),
    vs = f.local(V128),
    x = f.local(V128),
    e = f.local(V128);
  const t = { n: f.local(V128), r: f.local(V128), p: f.local(V128), k: f.local(V128) };
  const x2 = f.local(V128),
    t2 = { n: f.local(V128), r: f.local(V128), p: f.local(V128), k: f.local(V128) },
    nv8 = f.local(I32);
  const hsum = (v: number, op: number) => {
    f.get(v).simd(S.f32x4Extract, 0);
    for (let l = 1; l < 4; l++) f.get(v).simd(S.f32x4Extract, l).op(op);
  };
  f.get(scaleBits).op(O.f32ReinterpretI32).set(scale);
  f.get(scale).simd(S.f32x4Splat).set(vscale);
  f.get(n).i32(-4).op(O.i32And).set(nv);
  f.get(biasInner).i32(2).op(O.i32Shl).set(sb);
  f.for(
    r,
    () => f.get(rowStart),
    rowEnd,
    1,
    () => {
      const rowPtr = () => f.get(sPtr).get(r).get(n).op(O.i32Mul).i32(2).op(O.i32Shl).op(O.i32Add);
      const biasRow = () =>
        f
          .get(biasPtr)
          .get(offPtr)
          .get(r)
          .i32(2)
          .op(O.i32Shl)
          .op(O.i32Add)
          .load(O.i32Load)
          .i32(2)
          .op(O.i32Shl)
          .op(O.i32Add);
      // pass 1: x = scale·s + bias, running max
      rowPtr();
      f.set(ps);
      biasRow();
      f.set(pb);
      f.f32x4Const(-Infinity).set(vm);
      f.for(
        j,
        () => f.i32(0),
        nv,
        4,
        () => {
          f.get(ps).get(ps).vload().get(vscale).simd(S.f32x4Mul);
          f.get(biasInner).op(O.if, V128).get(pb).vload().op(O.else).get(pb).splatLoad().op(O.end);
          f.simd(S.f32x4Add).tee(x).vstore();
          f.get(vm).get(x).simd(S.f32x4Max).set(vm);
          f.inc(ps, 16).inc(pb, () => f.get(sb).i32(2).op(O.i32Shl));
        },
      );
      hsum(vm, O.f32Max);
      f.set(m);
      f.for(
        j,
        () => f.get(nv),
        n,
        1,
        () => {
          f.get(ps)
            .get(ps)
            .load(O.f32Load)
            .get(scale)
            .op(O.f32Mul)
            .get(pb)
            .load(O.f32Load)
            .op(O.f32Add)
            .tee(x1)
            .load(O.f32Store);
          f.get(m).get(x1).op(O.f32Max).set(m);
          f.inc(ps, 4).inc(pb, () => f.get(sb));
        },
      );
      f.get(mPtr).get(r).i32(2).op(O.i32Shl).op(O.i32Add).get(m).load(O.f32Store);
      // pass 2: e = exp(x − m), sum (an all −∞ row gives NaNs here; the caller zeroes it from m)
      rowPtr();
      f.set(ps);
      f.get(m).simd(S.f32x4Splat).set(vm);
      f.v128Zero().set(vs);
      // two vectors an iteration: exp is a ~25-deep dependent chain the core can overlap across two
      // (2688 rows of 84 keys, one thread, Node 24: 8 % faster)
      const expStore = (off: number, xv: number, tv: typeof t): void => {
        f.get(ps).vload(off).get(vm).simd(S.f32x4Sub).set(xv);
        f.get(ps);
        vexp(f, xv, tv, fma);
        f.tee(e).vstore(off);
        f.get(vs).get(e).simd(S.f32x4Add).set(vs);
      };
      f.get(nv).i32(-8).op(O.i32And).set(nv8);
      f.for(
        j,
        () => f.i32(0),
        nv8,
        8,
        () => {
          expStore(0, x, t);
          expStore(16, x2, t2);
          f.inc(ps, 32);
        },
      );
      f.for(
        j,
        () => f.get(nv8),
        nv,
        4,
        () => {
          expStore(0, x, t);
          f.inc(ps, 16);
        },
      );
      hsum(vs, O.f32Add);
      f.set(sum);
      f.for(
        j,
        () => f.get(nv),
        n,
        1,
        () => {
          f.get(ps).load(O.f32Load).get(m).op(O.f32Sub).simd(S.f32x4Splat).set(x);
          vexp(f, x, t, fma);
          f.simd(S.f32x4Extract, 0).set(x1);
          f.get(ps).get(x1).load(O.f32Store);
          f.get(sum).get(x1).op(O.f32Add).set(sum);
          f.inc(ps, 4);
        },
      );
      f.get(sumPtr).get(r).i32(2).op(O.i32Shl).op(O.i32Add).get(sum).load(O.f32Store);
      // pass 3: normalise
      rowPtr();
      f.set(ps);
      f.f32x4Const(1).get(sum).simd(S.f32x4Splat).simd(S.f32x4Div).set(vs);
      f.for(
        j,
        () => f.i32(0),
        nv,
        4,
        () => {
          f.get(ps).get(ps).vload().get(vs).simd(S.f32x4Mul).vstore();
          f.inc(ps, 16);
        },
      );
      f.for(
        j,
        () => f.get(nv),
        n,
        1,
        () => {
          f.get(ps).get(ps).load(O.f32Load).get(vs).simd(S.f32x4Extract, 0).op(O.f32Mul).load(O.f32Store);
          f.inc(ps, 4);
        },
      );
    },
  );
  return f;
}

/**
 * attn_ds(pPtr, dpPtr, doPtr, oPtr, dh, n, scaleBits, rowStart, rowEnd): dp ← p ⊙ (dp − D)·scale with
 * D = dOut[row] · out[row] (dh floats each), the softmax backward's row term, formed here in SIMD.
 */
export function attnDsFn(): Fn {
  const f = new Fn('attn_ds', new Array(9).fill(I32));
  const [pPtr, dpPtr, doPtr, oPtr, dh, n, scaleBits, rowStart, rowEnd] = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const;
  const r = f.local(I32),
    j = f.local(I32),
    nv = f.local(I32),
    hv = f.local(I32),
    pp = f.local(I32),
    pd = f.local(I32),
    pa = f.local(I32),
    pb = f.local(I32);
  const d = f.local(F32),
    scale = f.local(F32),
    vd = f.local(V128),
    vsc = f.local(V128);
  f.get(scaleBits).op(O.f32ReinterpretI32).set(scale);
  f.get(scale).simd(S.f32x4Splat).set(vsc);
  f.get(n).i32(-4).op(O.i32And).set(nv);
  f.get(dh).i32(-4).op(O.i32And).set(hv);
  f.for(
    r,
    () => f.get(rowStart),
    rowEnd,
    1,
    () => {
      // D = Σ dOut·out over the row's dh floats
      f.get(doPtr).get(r).get(dh).op(O.i32Mul).i32(2).op(O.i32Shl).op(O.i32Add).set(pa);
      f.get(oPtr).get(r).get(dh).op(O.i32Mul).i32(2).op(O.i32Shl).op(O.i32Add).set(pb);
      f.v128Zero().set(vd);
      f.for(
        j,
        () => f.i32(0),
        hv,
        4,
        () => {
          f.get(vd).get(pa).vload().get(pb).vload().simd(S.f32x4Mul).simd(S.f32x4Add).set(vd);
          f.inc(pa, 16).inc(pb, 16);
        },
      );
      f.get(vd).simd(S.f32x4Extract, 0);
      for (let l = 1; l < 4; l++) f.get(vd).simd(S.f32x4Extract, l).op(O.f32Add);
      f.set(d);
      f.for(
        j,
        () => f.get(hv),
        dh,
        1,
        () => {
          f.get(d).get(pa).load(O.f32Load).get(pb).load(O.f32Load).op(O.f32Mul).op(O.f32Add).set(d);
          f.inc(pa, 4).inc(pb, 4);
        },
      );
      f.get(pPtr).get(r).get(n).op(O.i32Mul).i32(2).op(O.i32Shl).op(O.i32Add).set(pp);
      f.get(dpPtr).get(r).get(n).op(O.i32Mul).i32(2).op(O.i32Shl).op(O.i32Add).set(pd);
      f.get(d).simd(S.f32x4Splat).set(vd);
      f.for(
        j,
        () => f.i32(0),
        nv,
        4,
        () => {
          f.get(pd)
            .get(pp)
            .vload()
            .get(pd)
            .vload()
            .get(vd)
            .simd(S.f32x4Sub)
            .simd(S.f32x4Mul)
            .get(vsc)
            .simd(S.f32x4Mul)
            .vstore();
          f.inc(pp, 16).inc(pd, 16);
        },
      );
      f.for(
        j,
        () => f.get(nv),
        n,
        1,
        () => {
          f.get(pd)
            .get(pp)
            .load(O.f32Load)
            .get(pd)
            .load(O.f32Load)
            .get(d)
            .op(O.f32Sub)
            .op(O.f32Mul)
            .get(scale)
            .op(O.f32Mul)
            .load(O.f32Store);
          f.inc(pp, 4).inc(pd, 4);
        },
      );
    },
  );
  return f;
}
