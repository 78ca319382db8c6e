/**
 * The register tile of the WASM GEMM (gemm.ts): MR rows of A against one packed K×NR panel, MR×NR
 * accumulators in v128 locals, started from the bias or zero, then stored straight to C when the tile
 * is whole or through the spill tile when it crosses the edge of C. gemmFn declares every local (their
 * order fixes the module's bytes) and emits this once, inside its row loop.
 */
import { type Fn, O, S } from './encoder.ts';
import type { GemmShape } from './gemm-plan.ts';

/** Local and argument indices of gemmFn that the tile reads and writes. */
export interface TileLocals {
  /** Arguments: rows and columns of C, A's row stride (elements), the bias pointer (0: none). */
  readonly M: number;
  readonly N: number;
  readonly ars: number;
  readonly biasPtr: number;
  /** The batch's A and C base pointers, the tile's first row and first column. */
  readonly aB: number;
  readonly cB: number;
  readonly i: number;
  readonly j0: number;
  /** The packed panel (pointer and byte size) and A's column step in bytes. */
  readonly panel: number;
  readonly panelBytes: number;
  readonly aStep: number;
  /** The spill tile's pointer. */
  readonly tmp: number;
  /** Scratch i32 locals. */
  readonly q: number;
  readonly pB: number;
  readonly pEnd: number;
  readonly rows: number;
  readonly cols: number;
  readonly r: number;
  readonly c: number;
  /** Per row of the tile, its A pointer; MR·NR/4 accumulators; NR/4 B vectors; the splat of A. */
  readonly aP: readonly number[];
  readonly acc: readonly number[];
  readonly bv: readonly number[];
  readonly av: number;
}

/** Pushes whether the panel at column j0 lies wholly inside C (j0 + NR ≤ N). */
export const pushFullPanel = (f: Fn, NR: number, j0: number, N: number): void => {
  f.get(j0).i32(NR).op(O.i32Add).get(N).op(O.i32LeS);
};

/** Emits one MR-row register tile at row i, panel j0. */
export function emitTile(f: Fn, g: GemmShape, l: TileLocals): void {
  const { mr: MR, nr: NR } = g;
  const NV = NR / 4;
  const { M, N, ars, biasPtr, aB, cB, i, j0, panel, panelBytes, aStep, tmp, q, pB, pEnd, rows, cols, r, c } = l;
  const { aP, acc, bv, av } = l;
  const full = () => pushFullPanel(f, NR, j0, N);
  /** One k of the tile: NR/4 B vectors from the panel at pB, then per row a splat of A and NR/4 FMAs (the k loop moves pB). */
  const step = (splatA: (rr: number) => void): void => {
    for (let v = 0; v < NV; v++)
      f.get(pB)
        .vload(16 * v)
        .set(bv[v]!);
    for (let rr = 0; rr < MR; rr++) {
      splatA(rr);
      f.set(av);
      for (let v = 0; v < NV; v++) {
        const a = acc[rr * NV + v]!;
        if (g.fma) f.get(av).get(bv[v]!).get(a).simd(S.f32x4RelaxedMadd).set(a);
        else f.get(a).get(av).get(bv[v]!).simd(S.f32x4Mul).simd(S.f32x4Add).set(a);
      }
    }
  };
  for (let rr = 0; rr < MR; rr++) {
    // row min(i + rr, M − 1): clamped rows compute garbage that is never stored
    f.get(aB);
    f.get(i)
      .i32(rr)
      .op(O.i32Add)
      .get(M)
      .i32(1)
      .op(O.i32Sub)
      .get(i)
      .i32(rr)
      .op(O.i32Add)
      .get(M)
      .op(O.i32LtS)
      .op(O.select);
    f.get(ars).op(O.i32Mul).i32(2).op(O.i32Shl).op(O.i32Add).set(aP[rr]!);
  }
  f.if(
    () => f.get(biasPtr),
    () => {
      // every row of the tile starts from the bias of its NR columns
      f.get(biasPtr).get(j0).i32(2).op(O.i32Shl).op(O.i32Add).set(q);
      for (let rr = 0; rr < MR; rr++)
        for (let v = 0; v < NV; v++)
          f.get(q)
            .vload(16 * v)
            .set(acc[rr * NV + v]!);
    },
    () => {
      for (const a of acc) f.v128Zero().set(a);
    },
  );
  f.get(panel).get(panelBytes).op(O.i32Add).set(pEnd);
  // the k loops count with the panel pointer itself: one add fewer per k
  f.if(
    () => {
      f.get(ars).i32(1).op(O.i32Eq);
      f.get(i).i32(MR).op(O.i32Add).get(M).op(O.i32LeS);
      f.op(O.i32And);
    },
    () => {
      // Aᵀ in place, a full tile: the MR rows of one k are adjacent, so one pointer serves them all
      f.get(aP[0]!).set(q);
      f.for(
        pB,
        () => f.get(panel),
        pEnd,
        NR * 4,
        () => {
          step((rr) => f.get(q).splatLoad(4 * rr));
          f.inc(q, () => f.get(aStep));
        },
        O.i32GeU,
      );
    },
    () => {
      f.for(
        pB,
        () => f.get(panel),
        pEnd,
        NR * 4,
        () => {
          step((rr) => f.get(aP[rr]!).splatLoad());
          for (let rr = 0; rr < MR; rr++) f.inc(aP[rr]!, () => f.get(aStep));
        },
        O.i32GeU,
      );
    },
  );
  f.if(
    () => {
      f.get(i).i32(MR).op(O.i32Add).get(M).op(O.i32LeS);
      full();
      f.op(O.i32And);
    },
    () => {
      for (let rr = 0; rr < MR; rr++) {
        // &C[i + rr, j0]
        f.get(cB)
          .get(i)
          .i32(rr)
          .op(O.i32Add)
          .get(N)
          .op(O.i32Mul)
          .get(j0)
          .op(O.i32Add)
          .i32(2)
          .op(O.i32Shl)
          .op(O.i32Add)
          .set(q);
        for (let v = 0; v < NV; v++)
          f.get(q)
            .get(acc[rr * NV + v]!)
            .vstore(16 * v);
      }
    },
    () => {
      for (let rr = 0; rr < MR; rr++)
        for (let v = 0; v < NV; v++)
          f.get(tmp)
            .get(acc[rr * NV + v]!)
            .vstore((rr * NR + 4 * v) * 4);
      f.get(M).get(i).op(O.i32Sub).set(rows);
      f.get(N).get(j0).op(O.i32Sub).set(cols);
      f.for(
        r,
        () => f.i32(0),
        rows,
        1,
        () => {
          f.if(
            () => f.get(r).i32(MR).op(O.i32GeS),
            () => f.op(O.br, 2),
          ); // leave the row loop
          f.for(
            c,
            () => f.i32(0),
            cols,
            1,
            () => {
              f.if(
                () => f.get(c).i32(NR).op(O.i32GeS),
                () => f.op(O.br, 2),
              );
              f.get(cB)
                .get(i)
                .get(r)
                .op(O.i32Add)
                .get(N)
                .op(O.i32Mul)
                .get(j0)
                .op(O.i32Add)
                .get(c)
                .op(O.i32Add)
                .i32(2)
                .op(O.i32Shl)
                .op(O.i32Add);
              f.get(tmp)
                .get(r)
                .i32(NR)
                .op(O.i32Mul)
                .get(c)
                .op(O.i32Add)
                .i32(2)
                .op(O.i32Shl)
                .op(O.i32Add)
                .load(O.f32Load);
              f.load(O.f32Store);
            },
          );
        },
      );
    },
  );
}
