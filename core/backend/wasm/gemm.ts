/**
 * The f32 GEMM microkernel, emitted as WASM SIMD. One call computes a range of work items, an item
 * being (batch p, column panel jp): pack B[:, jp·NR … +NR] into a K×NR panel (zero-padded, so
 * transposed and edge panels cost only the pack), then sweep all M rows in MR-row tiles whose
 * MR×NR accumulators stay in registers (MR·NR/4 v128 + NR/4 for B + 1 splat ≤ 16 xmm registers).
 * A is read in place through (row, col) strides, which covers transA with no copy.
 */
import { F32, Fn, I32, O, S, V128 } from './encoder.ts';

export interface GemmShape {
  /** Rows per register tile. */
  readonly mr: number;
  /** Columns per register tile (multiple of 4). */
  readonly nr: number;
  /** Fused multiply-add (relaxed SIMD) instead of mul + add. */
  readonly fma: boolean;
}

/** Byte size of the per-thread scratch: the packed panel plus an MR×NR spill tile. */
export const gemmScratchBytes = (g: GemmShape, K: number): number => (K * g.nr + g.mr * g.nr) * 4;

/**
 * gemm(aPtr, bPtr, cPtr, offPtr, scratch, M, N, K, ars, acs, brs, bcs, itemStart, itemEnd, panels):
 * byte pointers; strides in elements; offPtr holds (aOff, bOff) element offsets per batch as i32 pairs.
 */
export function gemmFn(g: GemmShape): Fn {
  const { mr: MR, nr: NR } = g;
  const NV = NR / 4;
  const f = new Fn('gemm', new Array(15).fill(I32));
  const [aPtr, bPtr, cPtr, offPtr, scratch, M, N, K, ars, acs, brs, bcs, itemStart, itemEnd, panels] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14] as const;
  const L = () => f.local(I32);
  const item = L(), p = L(), jp = L(), j0 = L(), aB = L(), bB = L(), cB = L(), k = L(), c = L(), i = L(), q = L(), src = L();
  const pB = L(), aStep = L(), bStep = L(), tmp = L(), rows = L(), cols = L(), r = L();
  const aP = Array.from({ length: MR }, L);
  const acc = Array.from({ length: MR * NV }, () => f.local(V128));
  const bv = Array.from({ length: NV }, () => f.local(V128));
  const av = f.local(V128);
  const nrL = L();
  const full = () => f.get(j0).i32(NR).op(O.i32Add).get(N).op(O.i32LeS);

  f.i32(NR).set(nrL);
  f.get(acs).i32(2).op(O.i32Shl).set(aStep);
  f.get(bcs).i32(2).op(O.i32Shl).set(bStep);
  f.get(scratch).get(K).i32(NR * 4).op(O.i32Mul).op(O.i32Add).set(tmp);
  f.for(item, () => f.get(itemStart), itemEnd, 1, () => {
    f.get(item).get(panels).op(O.i32DivS).set(p);
    f.get(item).get(p).get(panels).op(O.i32Mul).op(O.i32Sub).set(jp);
    f.get(jp).i32(NR).op(O.i32Mul).set(j0);
    f.get(aPtr).get(offPtr).get(p).i32(3).op(O.i32Shl).op(O.i32Add).load(O.i32Load).i32(2).op(O.i32Shl).op(O.i32Add).set(aB);
    f.get(bPtr).get(offPtr).get(p).i32(3).op(O.i32Shl).op(O.i32Add).load(O.i32Load, 4).i32(2).op(O.i32Shl).op(O.i32Add).set(bB);
    f.get(cPtr).get(p).get(M).op(O.i32Mul).get(N).op(O.i32Mul).i32(2).op(O.i32Shl).op(O.i32Add).set(cB);
    // ---- pack the panel: scratch[k·NR + c] = B[k, j0 + c] (0 past N) ----
    f.get(scratch).set(q);
    f.get(bB).get(j0).get(bStep).op(O.i32Mul).op(O.i32Add).set(src); // &B[0, j0]
    f.if(() => { f.get(bcs).i32(1).op(O.i32Eq); full(); f.op(O.i32And); }, () => {
      f.for(k, () => f.i32(0), K, 1, () => {
        for (let v = 0; v < NV; v++) f.get(q).get(src).vload(16 * v).vstore(16 * v);
        f.inc(q, NR * 4).inc(src, () => f.get(brs).i32(2).op(O.i32Shl));
      });
    }, () => {
      f.for(k, () => f.i32(0), K, 1, () => {
        f.get(src).set(pB);
        f.for(c, () => f.i32(0), nrL, 1, () => {
          f.get(q);
          // B[k, j0 + c], or 0 past N (never loaded: B may end the heap)
          f.get(j0).get(c).op(O.i32Add).get(N).op(O.i32LtS).op(O.if, F32).get(pB).load(O.f32Load).op(O.else).f32(0).op(O.end);
          f.load(O.f32Store);
          f.inc(q, 4).inc(pB, () => f.get(bStep));
        });
        f.inc(src, () => f.get(brs).i32(2).op(O.i32Shl));
      });
    });
    // ---- MR-row register tiles ----
    f.for(i, () => f.i32(0), M, MR, () => {
      for (let rr = 0; rr < MR; rr++) {
        // row min(i + rr, M − 1): clamped rows compute garbage that is never stored
        f.get(aB);
        f.get(i).i32(rr).op(O.i32Add).get(M).i32(1).op(O.i32Sub).get(i).i32(rr).op(O.i32Add).get(M).op(O.i32LtS).op(O.select);
        f.get(ars).op(O.i32Mul).i32(2).op(O.i32Shl).op(O.i32Add).set(aP[rr]!);
      }
      for (const a of acc) f.v128Zero().set(a);
      f.get(scratch).set(pB);
      f.for(k, () => f.i32(0), K, 1, () => {
        for (let v = 0; v < NV; v++) f.get(pB).vload(16 * v).set(bv[v]!);
        for (let rr = 0; rr < MR; rr++) {
          f.get(aP[rr]!).splatLoad().set(av);
          for (let v = 0; v < NV; v++) {
            const a = acc[rr * NV + v]!;
            if (g.fma) f.get(av).get(bv[v]!).get(a).simd(S.f32x4RelaxedMadd).set(a);
            else f.get(a).get(av).get(bv[v]!).simd(S.f32x4Mul).simd(S.f32x4Add).set(a);
          }
          f.inc(aP[rr]!, () => f.get(aStep));
        }
        f.inc(pB, NR * 4);
      });
      f.if(() => { f.get(i).i32(MR).op(O.i32Add).get(M).op(O.i32LeS); full(); f.op(O.i32And); }, () => {
        for (let rr = 0; rr < MR; rr++) {
          // &C[i + rr, j0]
          f.get(cB).get(i).i32(rr).op(O.i32Add).get(N).op(O.i32Mul).get(j0).op(O.i32Add).i32(2).op(O.i32Shl).op(O.i32Add).set(q);
          for (let v = 0; v < NV; v++) f.get(q).get(acc[rr * NV + v]!).vstore(16 * v);
        }
      }, () => {
        for (let rr = 0; rr < MR; rr++) for (let v = 0; v < NV; v++) f.get(tmp).get(acc[rr * NV + v]!).vstore((rr * NR + 4 * v) * 4);
        f.get(M).get(i).op(O.i32Sub).set(rows);
        f.get(N).get(j0).op(O.i32Sub).set(cols);
        f.for(r, () => f.i32(0), rows, 1, () => {
          f.if(() => f.get(r).i32(MR).op(O.i32GeS), () => f.op(O.br, 2)); // leave the row loop
          f.for(c, () => f.i32(0), cols, 1, () => {
            f.if(() => f.get(c).i32(NR).op(O.i32GeS), () => f.op(O.br, 2));
            f.get(cB).get(i).get(r).op(O.i32Add).get(N).op(O.i32Mul).get(j0).op(O.i32Add).get(c).op(O.i32Add).i32(2).op(O.i32Shl).op(O.i32Add);
            f.get(tmp).get(r).i32(NR).op(O.i32Mul).get(c).op(O.i32Add).i32(2).op(O.i32Shl).op(O.i32Add).load(O.f32Load);
            f.load(O.f32Store);
          });
        });
      });
    });
  });
  return f;
}

