/**
 * The plan of a WASM GEMM call, apart from the kernel it drives (gemm.ts): the register tile's
 * shape, the cache blocks that size a run of packed panels and a block of A rows, each chunk's
 * scratch, and the split of the work items over the threads.
 */
export interface GemmShape {
  /** Rows per register tile. */
  readonly mr: number;
  /** Columns per register tile (multiple of 4). */
  readonly nr: number;
  /** Fused multiply-add (relaxed SIMD) instead of mul + add. */
  readonly fma: boolean;
}

/** Packed B per run of panels: an L2-resident block (2 MiB L2 per core here, shared with the A block). */
export const GROUP_BYTES = 256 * 1024;
/** A rows swept against every panel of a run: small enough to stay in L2 between panels. */
export const A_BLOCK_BYTES = 256 * 1024;

/** Panels one run packs (as the kernel computes it). */
const groupOf = (g: GemmShape, K: number): number => Math.max(1, Math.floor(GROUP_BYTES / (g.nr * 4) / K));

/** Byte size of a chunk's scratch: an MR×NR spill tile, then the packed panels of its longest run (of `items` panels). */
export const gemmScratchBytes = (g: GemmShape, K: number, items: number): number =>
  (Math.min(groupOf(g, K), items) * K * g.nr + g.mr * g.nr) * 4;

/** Row pieces each tail chunk is cut into, at most. */
const TAIL_PIECES = 4;
/** A row piece has at least this many register tiles of rows (fewer: the pack and the stores dominate). */
const PIECE_TILES = 8;
/** The smallest chunk of whole rows: 1/(4·threads) of the items, the even cut's size before the guided one. */
const RUNS_PER_THREAD = 4;

/**
 * The chunks [itemLo, itemHi, rowLo, rowHi] of a GEMM over `threads`, claimed in this order from one
 * ticket. Guided: each chunk takes 1/(2·threads) of the items left, never fewer than `minRun`
 * (1/(4·threads) of them: a chunk streams all of A once, so shorter ones cost A traffic); the last
 * `threads` chunks of `minRun` items are cut into row pieces (each reads only its rows of A; its
 * panels are packed once per piece). Why: an even cut into 8 chunks left 2–3 panels a chunk at
 * N = 256 (22 panels of 12), and the threads finished up to a chunk apart (0.2 ms at K = 256, 0.8 ms
 * at K = 1024, on calls of 1.4–5 ms); the worker also starts 40–300 µs after the caller.
 */
export function gemmChunks(
  items: number,
  M: number,
  mr: number,
  threads: number,
  maxChunks: number,
): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  const T = Math.min(threads, 32); // bounds the chunk count (≤ 127 guided + 32 tail × 4 pieces ≤ 255)
  const minRun = Math.max(1, Math.ceil(items / (RUNS_PER_THREAD * T)), Math.ceil(items / (maxChunks >> 1)));
  const tailStart = Math.max(0, items - T * minRun);
  for (let it = 0; it < tailStart;) {
    const s = Math.min(tailStart - it, Math.max(minRun, Math.floor((items - it) / (2 * T))));
    out.push([it, it + s, 0, M]);
    it += s;
  }
  const tail = Math.ceil((items - tailStart) / minRun);
  const pieces = Math.max(
    1,
    Math.min(TAIL_PIECES, Math.floor(M / (PIECE_TILES * mr)), Math.floor((maxChunks - out.length) / tail)),
  );
  const edge = (r: number): number => (r === pieces ? M : Math.round((M * r) / pieces / mr) * mr);
  for (let it = tailStart; it < items; it += minRun) {
    for (let r = 0; r < pieces; r++) out.push([it, Math.min(items, it + minRun), edge(r), edge(r + 1)]);
  }
  return out;
}
