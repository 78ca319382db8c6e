/**
 * f32 elementwise kernels as WASM SIMD: broadcasting binary ops over "rows" (out[r, j] =
 * a[aOff[r] + j·as] ∘ b[bOff[r] + j·bs] with as, bs ∈ {0, 1}: covers same-shape, scalar, bias-row and
 * mask-column broadcasts), and GELU / its derivative with a vector exp. erf is Abramowitz–Stegun
 * 7.1.26 as the CPU reference uses for f32, and GELU's exp(−x²/2) is the erf's exp(−z²), so one exp
 * serves both terms.
 */
import { Fn, I32, O, S, V128 } from './encoder.ts';
import { chunk } from './layout.ts';

export const BINARY_WASM = ['add', 'sub', 'mul', 'div', 'max', 'min'] as const;
export type WasmBinaryOp = (typeof BINARY_WASM)[number];
const VOP: Record<WasmBinaryOp, number> = {
  add: S.f32x4Add,
  sub: S.f32x4Sub,
  mul: S.f32x4Mul,
  div: S.f32x4Div,
  max: S.f32x4Max,
  min: S.f32x4Min,
};
const SOP: Record<WasmBinaryOp, number> = {
  add: O.f32Add,
  sub: O.f32Sub,
  mul: O.f32Mul,
  div: O.f32Div,
  max: O.f32Max,
  min: O.f32Min,
};

/**
 * binary_<op>(aPtr, bPtr, oPtr, offPtr, n, aInner, bInner, rowStart, rowEnd): rows [rowStart, rowEnd)
 * of length n; offPtr holds (aOff, bOff) element offsets per row; the output is row-contiguous.
 */
export function binaryFn(op: WasmBinaryOp): Fn {
  const f = new Fn(`binary_${op}`, new Array(9).fill(I32));
  const [aPtr, bPtr, oPtr, offPtr, n, aInner, bInner, rowStart, rowEnd] = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const;
  const row = f.local(I32),
    pa = f.local(I32),
    pb = f.local(I32),
    po = f.local(I32),
    j = f.local(I32),
    nv = f.local(I32);
  const sa = f.local(I32),
    sb = f.local(I32);
  f.get(n).i32(-4).op(O.i32And).set(nv); // n rounded down to a multiple of 4 (i32.and)
  f.get(aInner).i32(2).op(O.i32Shl).set(sa);
  f.get(bInner).i32(2).op(O.i32Shl).set(sb);
  f.for(
    row,
    () => f.get(rowStart),
    rowEnd,
    1,
    () => {
      const off = (k: number) =>
        f
          .get(offPtr)
          .get(row)
          .i32(3)
          .op(O.i32Shl)
          .op(O.i32Add)
          .load(O.i32Load, 4 * k)
          .i32(2)
          .op(O.i32Shl);
      f.get(aPtr);
      off(0);
      f.op(O.i32Add).set(pa);
      f.get(bPtr);
      off(1);
      f.op(O.i32Add).set(pb);
      f.get(oPtr).get(row).get(n).op(O.i32Mul).i32(2).op(O.i32Shl).op(O.i32Add).set(po);
      const vecLoop = (la: () => void, lb: () => void, stepA: number, stepB: number) =>
        f.for(
          j,
          () => f.i32(0),
          nv,
          4,
          () => {
            f.get(po);
            la();
            lb();
            f.simd(VOP[op]).vstore();
            f.inc(po, 16);
            if (stepA) f.inc(pa, stepA);
            if (stepB) f.inc(pb, stepB);
          },
        );
      const vec = () => f.vload(),
        splat = () => f.splatLoad();
      f.if(
        () => f.get(aInner).get(bInner).op(O.i32And),
        () =>
          vecLoop(
            () => {
              f.get(pa);
              vec();
            },
            () => {
              f.get(pb);
              vec();
            },
            16,
            16,
          ),
        () => {
          f.if(
            () => f.get(aInner),
            () =>
              vecLoop(
                () => {
                  f.get(pa);
                  vec();
                },
                () => {
                  f.get(pb);
                  splat();
                },
                16,
                0,
              ),
            () =>
              vecLoop(
                () => {
                  f.get(pa);
                  splat();
                },
                () => {
                  f.get(pb);
                  vec();
                },
                0,
                16,
              ),
          );
        },
      );
      // scalar tail
      f.for(
        j,
        () => f.get(nv),
        n,
        1,
        () => {
          f.get(po).get(pa).load(O.f32Load).get(pb).load(O.f32Load).op(SOP[op]).load(O.f32Store);
          f.inc(po, 4)
            .inc(pa, () => f.get(sa))
            .inc(pb, () => f.get(sb));
        },
      );
    },
  );
  return f;
}

/** 1.5·2²³: adding it rounds an f32 of magnitude < 2²² to an integer held in the low mantissa bits. */
const MAGIC = 12582912;
const MAGIC_BITS = 0x4b400000;

/**
 * Pushes a·b + c (f32x4): one f32x4.relaxed_madd where relaxed SIMD is on (`fma`: V8 emits vfmadd, one
 * rounding), else a multiply and an add. Polynomials are chains of these, so a fused step is both shorter
 * and one rounding closer to the exact value.
 */
function madd(f: Fn, fma: boolean, a: () => void, b: () => void, c: () => void): void {
  a();
  b();
  if (fma) {
    c();
    f.simd(S.f32x4RelaxedMadd);
  } else {
    f.simd(S.f32x4Mul);
    c();
    f.simd(S.f32x4Add);
  }
}

/** Horner: pushes ((c0·t + c1)·t + …)·t + c_last for the v128 in local `t`, through local `acc`. */
function horner(f: Fn, fma: boolean, t: number, acc: number, coeffs: readonly number[]): void {
  f.f32x4Const(coeffs[0]!).set(acc);
  coeffs.slice(1).forEach((c, i) => {
    madd(
      f,
      fma,
      () => f.get(acc),
      () => f.get(t),
      () => f.f32x4Const(c),
    );
    if (i < coeffs.length - 2) f.set(acc);
  });
}

/**
 * Pushes exp(x) for the v128 in local `x` (Cephes expf: 2ⁿ·p(r), r = x − n·ln2). n is rounded with
 * the magic-number trick, which also yields its integer bits for 2ⁿ without a float→int conversion.
 * `fma`: the polynomial's steps fused (madd).
 */
export function vexp(f: Fn, x: number, t: { n: number; r: number; p: number; k: number }, fma = false): void {
  // clamp below so 2ⁿ stays a normal float (results under e^−70 are zeroed at the end). f32x4.pmax
  // (x < −87 ? −87 : x) is one maxps; f32x4.max's NaN and −0 rules cost V8 six instructions, and a NaN
  // x passes pmax unchanged, so exp(NaN) is NaN as before (GELU 620×1024: 1.44 → 1.22 ms, one thread)
  f.get(x);
  f.f32x4Const(-87);
  f.simd(S.f32x4Pmax).set(t.r);
  f.get(t.r);
  f.f32x4Const(Math.LOG2E);
  f.simd(S.f32x4Mul);
  f.f32x4Const(MAGIC);
  f.simd(S.f32x4Add).set(t.k);
  f.get(t.k);
  f.f32x4Const(MAGIC);
  f.simd(S.f32x4Sub).set(t.n);
  // r − n·ln2 in two parts (Cephes' split: the first product is exact)
  f.get(t.r).get(t.n);
  f.f32x4Const(0.693359375);
  f.simd(S.f32x4Mul).simd(S.f32x4Sub);
  f.get(t.n);
  f.f32x4Const(-2.1219444e-4);
  f.simd(S.f32x4Mul).simd(S.f32x4Sub).set(t.r);
  horner(
    f,
    fma,
    t.r,
    t.p,
    [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1],
  );
  f.set(t.p);
  // p·r² + r + 1
  madd(
    f,
    fma,
    () => f.get(t.p).get(t.r).simd(S.f32x4Mul),
    () => f.get(t.r),
    () => f.get(t.r),
  );
  f.f32x4Const(1);
  f.simd(S.f32x4Add);
  // · 2ⁿ, as the float bits (n + 127) << 23, n read from the magic sum's low bits
  f.get(t.k);
  f.i32x4Const(MAGIC_BITS - 127);
  f.simd(S.i32x4Sub).i32(23).simd(S.i32x4Shl);
  f.simd(S.f32x4Mul);
  // exactly 0 below e^−70 (as the reference's exp underflows): tiny results would otherwise turn into
  // subnormals downstream (masked softmax probabilities ≈ 1e-40), and every FMA that touches a
  // subnormal takes a ~100-cycle microcode assist (WASM has no flush-to-zero)
  f.get(x);
  f.f32x4Const(-70);
  f.simd(S.f32x4Ge).simd(S.and);
}

/**
 * gelu / geluGrad over n elements (rounded up to a multiple of 4: the caller pads): (inPtr, outPtr, n).
 * The polynomial chains are latency-bound, so the main loop runs two independent vectors per
 * iteration (each with its own locals) for the out-of-order core to overlap; a one-vector loop ends it.
 */
export type GeluMode = 'gelu' | 'grad' | 'both';

/** `both`: gelu_both(inPtr, outPtr, gradPtr, n) writes GELU and its derivative from one erf and exp. */
export function geluFn(mode: GeluMode, fma = false): Fn {
  const both = mode === 'both';
  const f = new Fn(
    mode === 'gelu' ? 'gelu' : mode === 'grad' ? 'gelu_grad' : 'gelu_both',
    both ? [I32, I32, I32, I32] : [I32, I32, I32],
  );
  const [inP, outP, gradP, n] = both ? ([0, 1, 2, 3] as const) : ([0, 1, -1, 2] as const);
  const i = f.local(I32),
    nb = f.local(I32),
    nb2 = f.local(I32);
  f.get(n).i32(2).op(O.i32Shl).set(nb);
  f.get(nb).i32(-32).op(O.i32And).set(nb2);
  const lanes = [0, 1].map(() => ({
    x: f.local(V128),
    z: f.local(V128),
    e: f.local(V128),
    erf: f.local(V128),
    tt: f.local(V128),
    tmp: { n: f.local(V128), r: f.local(V128), p: f.local(V128), k: f.local(V128) },
  }));
  const one = (off: number, l: (typeof lanes)[number]) => {
    const { x, z, e, erf, tt, tmp } = l;
    f.get(inP).get(i).op(O.i32Add).vload(off).set(x);
    f.get(x);
    f.f32x4Const(Math.SQRT1_2);
    f.simd(S.f32x4Mul).simd(S.f32x4Abs).set(z); // |z|, z = x/√2
    f.get(z).get(z).simd(S.f32x4Mul).simd(S.f32x4Neg).set(e);
    vexp(f, e, tmp, fma);
    f.set(e); // exp(−z²) = exp(−x²/2)
    f.f32x4Const(1);
    madd(
      f,
      fma,
      () => f.get(z),
      () => f.f32x4Const(0.3275911),
      () => f.f32x4Const(1),
    );
    f.simd(S.f32x4Div).set(tt);
    horner(f, fma, tt, erf, [1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592]);
    f.set(erf);
    f.f32x4Const(1);
    f.get(erf).get(tt).simd(S.f32x4Mul).get(e).simd(S.f32x4Mul).simd(S.f32x4Sub).set(erf); // erf(|z|)
    // sign: erf(z) = x < 0 ? −erf(|z|) : erf(|z|)
    f.get(erf).simd(S.f32x4Neg).get(erf).get(x).v128Zero().simd(S.f32x4Lt).simd(S.bitselect).set(erf);
    f.f32x4Const(1);
    f.get(erf).simd(S.f32x4Add);
    f.f32x4Const(0.5);
    f.simd(S.f32x4Mul).set(erf); // Φ(x) = ½(1 + erf)
    // GELU = x·Φ(x); GELU' = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)
    const value = () => {
      f.get(outP).get(i).op(O.i32Add).get(erf).get(x).simd(S.f32x4Mul).vstore(off);
    };
    const deriv = (ptr: number) => {
      f.get(ptr).get(i).op(O.i32Add);
      madd(
        f,
        fma,
        () => f.get(x).f32x4Const(0.3989422804014327).simd(S.f32x4Mul),
        () => f.get(e),
        () => f.get(erf),
      );
      f.vstore(off);
    };
    if (mode !== 'grad') value();
    if (mode !== 'gelu') deriv(both ? gradP : outP);
  };
  f.for(
    i,
    () => f.i32(0),
    nb2,
    32,
    () => {
      one(0, lanes[0]!);
      one(16, lanes[1]!);
    },
  );
  f.for(
    i,
    () => f.get(nb2),
    nb,
    16,
    () => one(0, lanes[0]!),
  );
  return f;
}

/**
 * The argument vectors of a binary op split into nt chunks: one long run (rows = 1) is cut in
 * multiples of 4 by moving the pointers; otherwise whole rows.
 */
export function binaryChunks(
  aPtr: number,
  bPtr: number,
  outPtr: number,
  offPtr: number,
  rows: number,
  n: number,
  inner: readonly number[],
  nt: number,
): number[][] {
  if (rows === 1) {
    return Array.from({ length: nt }, (_, t) => {
      const lo = chunk(n, t, nt),
        hi = chunk(n, t + 1, nt);
      return [
        aPtr + 4 * lo * inner[0]!,
        bPtr + 4 * lo * inner[1]!,
        outPtr + 4 * lo,
        offPtr,
        hi - lo,
        inner[0]!,
        inner[1]!,
        0,
        1,
      ];
    });
  }
  return Array.from({ length: nt }, (_, t) => [
    aPtr,
    bPtr,
    outPtr,
    offPtr,
    n,
    inner[0]!,
    inner[1]!,
    Math.floor((rows * t) / nt),
    Math.floor((rows * (t + 1)) / nt),
  ]);
}
