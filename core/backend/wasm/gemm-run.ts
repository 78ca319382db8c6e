/**
 * The host side of the WASM GEMM: batch offsets, the zero-padded bias panel, the chunk plan over the
 * threads (gemmChunks) and the one pool call; `matmulInto` is the backend's whole matmul on heap pointers.
 */
import type { MatmulOptions, TensorRef } from '../backend.ts';
import { sizeOf, type Shape } from '../../tensor/shape.ts';
import { gemmChunks, gemmScratchBytes, type GemmShape } from './gemm-plan.ts';
import { batchOffsets, type KernelHost } from './layout.ts';
import { MAX_CHUNKS } from './pool.ts';

/** Below this many multiply-adds a matmul runs on the calling thread only (a wake-up costs ~10–50 µs). */
const PARALLEL_MIN_MACS = 1 << 16;

export interface GemmHost extends KernelHost<'gemm'> {
  /** The heap as f32 (a getter, as i32). */
  readonly f32: Float32Array;
  readonly threads: number;
  readonly tile: GemmShape;
}

/** C[p] = op(A[p])·op(B[p]) (+ bias, unbatched) for every batch p, A/B batch p at element offsets aOff[p]/bOff[p]; C contiguous. */
export function runGemm(
  h: GemmHost,
  aPtr: number,
  bPtr: number,
  cPtr: number,
  aOff: Int32Array,
  bOff: Int32Array,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  bias?: Float32Array,
): void {
  const g = h.tile,
    P = aOff.length,
    panels = Math.ceil(N / g.nr),
    items = P * panels;
  const offPtr = h.scratch(P * 8),
    i32 = h.i32;
  for (let p = 0; p < P; p++) {
    i32[(offPtr >>> 2) + 2 * p] = aOff[p]!;
    i32[(offPtr >>> 2) + 2 * p + 1] = bOff[p]!;
  }
  let biasP = 0;
  if (bias) {
    // zero-padded to whole panels: edge tiles load full vectors
    biasP = h.scratch(4 * panels * g.nr);
    h.f32.fill(0, (biasP >>> 2) + N, (biasP >>> 2) + panels * g.nr);
    h.f32.set(bias, biasP >>> 2);
  }
  const plan =
    M * N * K * P < PARALLEL_MIN_MACS || h.threads === 1
      ? [[0, items, 0, M] as const]
      : gemmChunks(items, M, g.mr, h.threads, MAX_CHUNKS);
  const [ars, acs] = transA ? [1, M] : [K, 1];
  const [brs, bcs] = transB ? [1, K] : [N, 1];
  // scratch per chunk: a chunk does not know which thread runs it
  h.run(
    'gemm',
    plan.map(([lo, hi, r0, r1]) => [
      aPtr,
      bPtr,
      cPtr,
      offPtr,
      h.scratch(gemmScratchBytes(g, K, hi - lo)),
      M,
      N,
      K,
      ars,
      acs,
      brs,
      bcs,
      lo,
      hi,
      panels,
      r0,
      r1,
      biasP,
    ]),
  );
}

/** The backend's f32 matmul into the heap block at outPtr (opts.bias: the operand's f32 data, as `bias`). */
export function matmulInto(
  h: GemmHost,
  a: TensorRef,
  b: TensorRef,
  opts: MatmulOptions,
  outShape: Shape,
  outPtr: number,
  bias?: Float32Array,
): void {
  const M = outShape.at(-2)!,
    N = outShape.at(-1)!,
    K = opts.transA ? a.shape.at(-2)! : a.shape.at(-1)!;
  const batch = outShape.slice(0, -2),
    P = sizeOf(batch);
  if (P * M * N === 0) return;
  if (bias && (P !== 1 || bias.length !== N))
    throw new RangeError(
      `wasm matmul: a bias needs an unbatched product and [${N}] values, got batch ${P} and ${bias.length}`,
    );
  if (K === 0) {
    // an empty sum: the bias alone, or zeros
    for (let r = 0; r < P * M; r++) {
      if (bias) h.f32.set(bias, (outPtr >>> 2) + r * N);
      else h.f32.fill(0, (outPtr >>> 2) + r * N, (outPtr >>> 2) + (r + 1) * N);
    }
    return;
  }
  runGemm(
    h,
    h.input(a),
    h.input(b),
    outPtr,
    batchOffsets(a.shape, batch, M * K),
    batchOffsets(b.shape, batch, K * N),
    M,
    N,
    K,
    opts.transA,
    opts.transB,
    bias,
  );
}
