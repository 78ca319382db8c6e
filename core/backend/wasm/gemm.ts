/**
 * The f32 GEMM microkernel, emitted as WASM SIMD. One call computes a range of work items, an item
 * being (batch p, column panel jp), over a range of rows (gemmChunks plans the split). Consecutive
 * items of one batch form runs of up to GROUP_BYTES of packed B: each panel B[:, jp·NR … +NR] is
 * packed into a K×NR block (zero-padded, so transposed and edge panels cost only the pack), then the
 * rows are swept in blocks of A_BLOCK_BYTES, each block against every panel of the run, so A is read
 * from L2 once per run instead of from L3 once per panel. Within a block, MR-row tiles keep MR×NR
 * accumulators in registers. A is read in place through (row, col) strides, which covers transA with
 * no copy.
 *
 * Register budget (x64 V8: 15 allocatable xmm): TurboFan hoists every splat load of a k step to its
 * top, so MR splats + NR/4 B vectors + MR·NR/4 accumulators must fit, or the loop spills. 4×8 (14)
 * and 3×12 (15) fit; 6×8 and 5×8 spill accumulators (measured 20–50 % slower), and so does a k loop
 * unrolled by 2 or 4 (the next steps' splats are hoisted too), which is why k is not unrolled.
 */
import { F32, Fn, I32, O, V128 } from './encoder.ts';
import { A_BLOCK_BYTES, GROUP_BYTES, type GemmShape } from './gemm-plan.ts';
import { emitTile, pushFullPanel, type TileLocals } from './gemm-tile.ts';

/** The kernel's i32 arguments. */
export const GEMM_ARGS = 18;

/**
 * gemm(aPtr, bPtr, cPtr, offPtr, scratch, M, N, K, ars, acs, brs, bcs, itemStart, itemEnd, panels, rowLo, rowHi, biasPtr):
 * byte pointers; strides in elements; offPtr holds (aOff, bOff) element offsets per batch as i32 pairs.
 * Only rows [rowLo, rowHi) of C are computed; rowLo and rowHi are multiples of MR, or rowHi = M, so a
 * tile never writes rows of another chunk (each element's sum is the same whatever the row range).
 * biasPtr (0: none): panels·NR floats, the bias zero-padded past N; accumulators start from it.
 */
export function gemmFn(g: GemmShape): Fn {
  const { mr: MR, nr: NR } = g;
  const NV = NR / 4;
  const f = new Fn('gemm', new Array(GEMM_ARGS).fill(I32));
  const [
    aPtr,
    bPtr,
    cPtr,
    offPtr,
    scratch,
    M,
    N,
    K,
    ars,
    acs,
    brs,
    bcs,
    itemStart,
    itemEnd,
    panels,
    rowLo,
    rowHi,
    biasPtr,
  ] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17] as const;
  const L = () => f.local(I32);
  const item = L(),
    p = L(),
    jp0 = L(),
    j0 = L(),
    aB = L(),
    bB = L(),
    cB = L(),
    k = L(),
    c = L(),
    i = L(),
    q = L(),
    src = L();
  const pB = L(),
    aStep = L(),
    bStep = L(),
    tmp = L(),
    rows = L(),
    cols = L(),
    r = L();
  const pEnd = L(),
    grp = L(),
    cnt = L(),
    gi = L(),
    panelBytes = L(),
    panel = L(),
    mc = L(),
    i0 = L(),
    iEnd = L(),
    nrL = L();
  const aP = Array.from({ length: MR }, L);
  const acc = Array.from({ length: MR * NV }, () => f.local(V128));
  const bv = Array.from({ length: NV }, () => f.local(V128));
  const av = f.local(V128);
  /** Pushes min(a, b) of two i32 pushers. */
  const min = (a: () => void, b: () => void): void => {
    a();
    b();
    a();
    b();
    f.op(O.i32LtS, O.select);
  };
  const full = () => pushFullPanel(f, NR, j0, N);
  const tileLocals: TileLocals = {
    M,
    N,
    ars,
    biasPtr,
    aB,
    cB,
    i,
    j0,
    panel,
    panelBytes,
    aStep,
    tmp,
    q,
    pB,
    pEnd,
    rows,
    cols,
    r,
    c,
    aP,
    acc,
    bv,
    av,
  };

  f.i32(NR).set(nrL);
  f.get(acs).i32(2).op(O.i32Shl).set(aStep);
  f.get(bcs).i32(2).op(O.i32Shl).set(bStep);
  f.get(K)
    .i32(NR * 4)
    .op(O.i32Mul)
    .set(panelBytes);
  groupPanels(f, K, NR, grp);
  blockRows(f, K, MR, mc);
  // the spill tile first, then the packed panels: a chunk's scratch holds only the panels it packs
  f.get(scratch).set(tmp);
  f.inc(scratch, MR * NR * 4);
  // items (batch p, panel jp) in runs of ≤ grp panels of one batch: pack the run's B panels, then
  // sweep rows [rowLo, rowHi) in blocks of mc rows, each block against every panel of the run while it is in cache
  f.for(
    item,
    () => f.get(itemStart),
    itemEnd,
    () => f.get(cnt),
    () => {
      f.get(item).get(panels).op(O.i32DivS).set(p);
      f.get(item).get(p).get(panels).op(O.i32Mul).op(O.i32Sub).set(jp0);
      min(
        () =>
          min(
            () => f.get(itemEnd).get(item).op(O.i32Sub),
            () => f.get(panels).get(jp0).op(O.i32Sub),
          ),
        () => f.get(grp),
      );
      f.set(cnt);
      f.get(aPtr)
        .get(offPtr)
        .get(p)
        .i32(3)
        .op(O.i32Shl)
        .op(O.i32Add)
        .load(O.i32Load)
        .i32(2)
        .op(O.i32Shl)
        .op(O.i32Add)
        .set(aB);
      f.get(bPtr)
        .get(offPtr)
        .get(p)
        .i32(3)
        .op(O.i32Shl)
        .op(O.i32Add)
        .load(O.i32Load, 4)
        .i32(2)
        .op(O.i32Shl)
        .op(O.i32Add)
        .set(bB);
      f.get(cPtr).get(p).get(M).op(O.i32Mul).get(N).op(O.i32Mul).i32(2).op(O.i32Shl).op(O.i32Add).set(cB);
      f.get(scratch).set(q);
      f.for(
        gi,
        () => f.i32(0),
        cnt,
        1,
        () => {
          // ---- pack panel jp0 + gi: q[k·NR + c] = B[k, j0 + c] (0 past N) ----
          f.get(jp0).get(gi).op(O.i32Add).i32(NR).op(O.i32Mul).set(j0);
          f.get(bB).get(j0).get(bStep).op(O.i32Mul).op(O.i32Add).set(src); // &B[0, j0]
          f.if(
            () => {
              f.get(bcs).i32(1).op(O.i32Eq);
              full();
              f.op(O.i32And);
            },
            () => {
              f.for(
                k,
                () => f.i32(0),
                K,
                1,
                () => {
                  for (let v = 0; v < NV; v++)
                    f.get(q)
                      .get(src)
                      .vload(16 * v)
                      .vstore(16 * v);
                  f.inc(q, NR * 4).inc(src, () => f.get(brs).i32(2).op(O.i32Shl));
                },
              );
            },
            () =>
              f.if(
                full,
                () => {
                  // Bᵀ (or strided), a full panel: NR strided loads per k, unrolled, no bounds test
                  f.for(
                    k,
                    () => f.i32(0),
                    K,
                    1,
                    () => {
                      f.get(src).set(pB);
                      for (let cc = 0; cc < NR; cc++)
                        f.get(q)
                          .get(pB)
                          .load(O.f32Load)
                          .load(O.f32Store, 4 * cc)
                          .inc(pB, () => f.get(bStep));
                      f.inc(q, NR * 4).inc(src, () => f.get(brs).i32(2).op(O.i32Shl));
                    },
                  );
                },
                () => {
                  f.for(
                    k,
                    () => f.i32(0),
                    K,
                    1,
                    () => {
                      f.get(src).set(pB);
                      f.for(
                        c,
                        () => f.i32(0),
                        nrL,
                        1,
                        () => {
                          f.get(q);
                          // B[k, j0 + c], or 0 past N (never loaded: B may end the heap)
                          f.get(j0)
                            .get(c)
                            .op(O.i32Add)
                            .get(N)
                            .op(O.i32LtS)
                            .op(O.if, F32)
                            .get(pB)
                            .load(O.f32Load)
                            .op(O.else)
                            .f32(0)
                            .op(O.end);
                          f.load(O.f32Store);
                          f.inc(q, 4).inc(pB, () => f.get(bStep));
                        },
                      );
                      f.inc(src, () => f.get(brs).i32(2).op(O.i32Shl));
                    },
                  );
                },
              ),
          );
        },
      );
      f.for(
        i0,
        () => f.get(rowLo),
        rowHi,
        () => f.get(mc),
        () => {
          min(
            () => f.get(i0).get(mc).op(O.i32Add),
            () => f.get(rowHi),
          );
          f.set(iEnd);
          f.for(
            gi,
            () => f.i32(0),
            cnt,
            1,
            () => {
              f.get(jp0).get(gi).op(O.i32Add).i32(NR).op(O.i32Mul).set(j0);
              f.get(scratch).get(gi).get(panelBytes).op(O.i32Mul).op(O.i32Add).set(panel);
              // ---- MR-row register tiles ----
              f.for(
                i,
                () => f.get(i0),
                iEnd,
                MR,
                () => emitTile(f, g, tileLocals),
              );
            },
          );
        },
      );
    },
  );
  return f;
}

/** Panels packed per run: as many K×NR panels as fit GROUP_BYTES (an L2-resident B block), at least one. */
function groupPanels(f: Fn, K: number, NR: number, out: number): void {
  f.i32(GROUP_BYTES / (NR * 4))
    .get(K)
    .op(O.i32DivS)
    .set(out);
  f.if(
    () => f.get(out).op(O.i32Eqz),
    () => f.i32(1).set(out),
  );
}

/** Rows per block: A_BLOCK_BYTES of A rows (L2-resident across the run's panels), a multiple of MR. */
function blockRows(f: Fn, K: number, MR: number, out: number): void {
  f.i32(A_BLOCK_BYTES / 4)
    .get(K)
    .op(O.i32DivS)
    .i32(MR)
    .op(O.i32DivS)
    .i32(MR)
    .op(O.i32Mul)
    .set(out);
  f.if(
    () => f.get(out).i32(MR).op(O.i32LtS),
    () => f.i32(MR).set(out),
  );
}
