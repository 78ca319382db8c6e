/**
 * Host side of the WASM int8 product (int8-gemm.ts): the weight packed once into the kernel's panel
 * layout (both directions), and per call the row quantization, then the integer GEMM, split over the
 * pool. The arithmetic is core/tensor/int8.ts's; this file only moves bytes and cuts work.
 */
import { WEIGHT_OFFSET, type Int8Direction, type Int8Matrix } from '../../tensor/int8.ts';
import { int8TileRows, type Int8Dot } from './int8-kernel.ts';
import type { KernelHost } from './layout.ts';

/** Packed B panels (bytes) kept L1/L2-resident while every row passes them. */
const BLOCK_BYTES = 64 * 1024;

const ceil = (n: number, m: number): number => Math.ceil(n / m) * m;
/** K is padded to a multiple of 32: the paired GEMM takes two 16-byte k-blocks a step (int8-gemm-relaxed.ts). */
const K_STEP = 32;

/**
 * Codes + 64 of `cols`-long rows (the output columns of one direction) in panels of 4 rows interleaved by
 * 16-byte k-blocks, k padded to a multiple of 32; pad rows and pad k are 0. `at(c, k)` is the code of column c at k.
 */
export function packPanels(columns: number, reduce: number, at: (c: number, k: number) => number): Uint8Array {
  const Kp = ceil(reduce, K_STEP),
    out = new Uint8Array(ceil(columns, 4) * Kp);
  for (let c = 0; c < columns; c++) {
    const base = (c >> 2) * 4 * Kp + (c & 3) * 16;
    for (let k = 0; k < reduce; k++) out[base + (k >> 4) * 64 + (k & 15)] = at(c, k) + WEIGHT_OFFSET;
  }
  return out;
}

/** Where one uploaded weight lives in the heap (byte pointers) and its sizes. */
export interface Int8Resident {
  readonly N: number;
  readonly K: number;
  /** Panels of W [N, K] (forward) and of Wᵀ [K, N] (backward). */
  readonly fwdP: number;
  readonly bwdP: number;
  /** f32: the scales padded to ceil4(N) (zeros past N); ones and zeros of ceil4(max(N, K)). */
  readonly scaleP: number;
  readonly onesP: number;
  readonly zerosP: number;
  /** Every block to free: [ptr, bytes]. */
  readonly blocks: readonly (readonly [number, number])[];
}

/** The pieces of the heap the upload writes: an allocator and fresh typed views. */
export interface Int8Heap {
  alloc(bytes: number): number;
  readonly u8: Uint8Array;
  readonly f32: Float32Array;
}

export function uploadInt8(heap: Int8Heap, w: Int8Matrix): Int8Resident {
  const { rows: N, cols: K, q } = w;
  const fwd = packPanels(N, K, (n, k) => q[n * K + k]!),
    bwd = packPanels(K, N, (k, n) => q[n * K + k]!);
  const span = ceil(Math.max(N, K), 4);
  const blocks: [number, number][] = [];
  const block = (bytes: number): number => {
    const p = heap.alloc(bytes);
    blocks.push([p, bytes]);
    return p;
  };
  const fwdP = block(fwd.length),
    bwdP = block(bwd.length),
    scaleP = block(4 * span),
    onesP = block(4 * span),
    zerosP = block(4 * span);
  heap.u8.set(fwd, fwdP);
  heap.u8.set(bwd, bwdP);
  const f32 = heap.f32;
  f32.fill(0, scaleP >>> 2, (scaleP >>> 2) + span);
  f32.set(w.scale, scaleP >>> 2);
  f32.fill(1, onesP >>> 2, (onesP >>> 2) + span);
  f32.fill(0, zerosP >>> 2, (zerosP >>> 2) + span);
  return { N, K, fwdP, bwdP, scaleP, onesP, zerosP, blocks };
}

export type Int8Kernel = 'int8_quant_rows' | 'int8_gemm';

/**
 * out [M, outer] (f32 at outP) = the int8 product of the f32 rows at xP [M, inner] with the weight,
 * in direction `dir`; biasP: f32 [ceil4(N)] (forward only; undefined adds zeros).
 */
export function int8ProductInto<K extends string>(
  host: KernelHost<K | Int8Kernel>,
  dot: Int8Dot,
  threads: number,
  w: Int8Resident,
  dir: Int8Direction,
  xP: number,
  M: number,
  outP: number,
  biasP: number | undefined,
): void {
  if (M === 0) return;
  const fwd = dir === 'forward';
  const inner = fwd ? w.K : w.N,
    outer = fwd ? w.N : w.K;
  const Kp = ceil(inner, K_STEP),
    mr = int8TileRows(dot),
    mFull = Math.floor(M / mr) * mr;
  const aP = host.scratch(M * Kp + 16),
    rowScaleP = host.scratch(4 * M),
    rowSumP = host.scratch(4 * M),
    offP = dot === 'paired' ? host.scratch((M * Kp) / 2) : 0; // the paired GEMM's i16 offsets
  const colMulP = fwd ? 0 : w.scaleP; // backward: g = dy·s_n before the rows are quantized; 0: no multiply
  const qc = host.chunks(M * inner, M);
  host.run(
    'int8_quant_rows',
    Array.from({ length: qc }, (_, t) => {
      const lo = Math.floor((M * t) / qc),
        hi = Math.floor((M * (t + 1)) / qc);
      return [xP, 4 * inner, colMulP, inner, aP, Kp, mFull, rowScaleP, rowSumP, lo, hi, offP];
    }),
  );
  const panels = Math.ceil(outer / 4),
    blockPanels = Math.max(1, Math.floor(BLOCK_BYTES / (4 * Kp)));
  const colScaleP = fwd ? w.scaleP : w.onesP,
    bP = fwd ? w.fwdP : w.bwdP,
    bias = biasP ?? w.zerosP;
  const args = (rowLo: number, rowHi: number, pLo: number, pHi: number): number[] => [
    aP,
    bP,
    outP,
    4 * outer,
    rowLo,
    rowHi,
    mFull,
    pLo,
    pHi,
    Kp,
    rowScaleP,
    rowSumP,
    colScaleP,
    bias,
    outer,
    blockPanels,
    offP,
  ];
  const work = M * outer * inner;
  const nc = threads === 1 || work < 1 << 18 ? 1 : Math.min(4 * threads, 255);
  const chunks: number[][] = [];
  if (M >= nc * mr * 4) {
    // rows, cut on tile boundaries below mFull
    const edge = (t: number): number => (t === nc ? M : Math.min(mFull, Math.round((M * t) / nc / mr) * mr));
    for (let t = 0; t < nc; t++) if (edge(t) < edge(t + 1)) chunks.push(args(edge(t), edge(t + 1), 0, panels));
  } else {
    // few rows (the last layer's pooled row): cut the panels instead
    const n = Math.min(nc, panels);
    for (let t = 0; t < n; t++) {
      const lo = Math.floor((panels * t) / n),
        hi = Math.floor((panels * (t + 1)) / n);
      if (lo < hi) chunks.push(args(0, M, lo, hi));
    }
  }
  host.run('int8_gemm', chunks);
}
