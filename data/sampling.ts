/**
 * Deterministic few-shot sampling, shuffling, batching and length bucketing. Every random choice flows from
 * an explicit integer seed, so a run is reproducible from its config alone; the functions are pure (same
 * arguments, same result) and never touch Math.random.
 */

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit-state PRNG, fast and good enough for shuffling a few
 * thousand items, with floats in [0, 1). Seeds are taken modulo 2^32. The returned closure is stateful; the
 * exported helpers below each build their own, so they stay pure.
 */
export function mulberry32(seed: number): () => number {
  checkSeed(seed);
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
}

/** murmur3's 32-bit finaliser: spreads every input bit over the output, so nearby seeds give unrelated streams. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Independent sub-seed for a purpose (e.g. per epoch), so streams for different salts do not overlap. */
export function deriveSeed(seed: number, ...salts: readonly number[]): number {
  checkSeed(seed);
  return salts.reduce((h, s) => fmix32((h ^ fmix32((s >>> 0) + 0x9e3779b9)) >>> 0), fmix32(seed >>> 0));
}

/** Fisher-Yates shuffle of a copy. */
export function shuffle<A>(xs: readonly A[], seed: number): readonly A[] {
  const rng = mulberry32(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}

export type GroupKey = string | number;

export interface SampleOptions<A> {
  /** Class (or other stratum) of an item; absent: simple random sample. */
  readonly stratifyBy?: (a: A) => GroupKey;
  /**
   * proportional (default): each stratum gets its share of n (largest remainder);
   * balanced: equal counts per stratum as far as each stratum's size allows, the rest spread over the others.
   */
  readonly mode?: 'proportional' | 'balanced';
}

/**
 * n items without replacement. One seeded shuffle decides both which items are taken and their order
 * (strata come out interleaved); stratification only caps how many each stratum may contribute.
 * Throws RangeError if n is not an integer in [0, xs.length].
 */
export function sampleFewShot<A>(
  xs: readonly A[],
  n: number,
  seed: number,
  options: SampleOptions<A> = {},
): readonly A[] {
  if (!Number.isInteger(n) || n < 0 || n > xs.length)
    throw new RangeError(`sample size ${n} must be an integer in [0, ${xs.length}]`);
  const order = shuffle(xs, seed);
  const key = options.stratifyBy;
  if (key === undefined) return order.slice(0, n);
  const sizes = new Map<GroupKey, number>();
  for (const x of xs) {
    const k = key(x);
    sizes.set(k, (sizes.get(k) ?? 0) + 1);
  }
  // Ties in allocation go to strata in a seeded order rather than input order, so no class is always favoured.
  const keys = shuffle([...sizes.keys()], deriveSeed(seed, 1));
  const quota =
    options.mode === 'balanced' ? balancedQuota(keys, sizes, n) : proportionalQuota(keys, sizes, n, xs.length);
  const out: A[] = [];
  for (const x of order) {
    const k = key(x);
    const left = quota.get(k) ?? 0;
    if (left > 0) {
      out.push(x);
      quota.set(k, left - 1);
    }
  }
  return out;
}

function proportionalQuota(
  keys: readonly GroupKey[],
  sizes: ReadonlyMap<GroupKey, number>,
  n: number,
  total: number,
): Map<GroupKey, number> {
  const quota = new Map<GroupKey, number>();
  const exact = keys.map((k) => (n * (sizes.get(k) ?? 0)) / total);
  keys.forEach((k, i) => quota.set(k, Math.floor(exact[i]!)));
  let rest = n - [...quota.values()].reduce((a, b) => a + b, 0);
  // Largest remainder; the sort is stable, so equal remainders keep the seeded key order.
  const byRemainder = keys.map((k, i) => ({ k, r: exact[i]! - Math.floor(exact[i]!) })).sort((a, b) => b.r - a.r);
  for (const { k } of byRemainder) {
    if (rest === 0) break;
    quota.set(k, (quota.get(k) ?? 0) + 1);
    rest--;
  }
  return quota;
}

function balancedQuota(
  keys: readonly GroupKey[],
  sizes: ReadonlyMap<GroupKey, number>,
  n: number,
): Map<GroupKey, number> {
  const quota = new Map<GroupKey, number>(keys.map((k) => [k, 0]));
  let rest = n;
  // Round-robin one item at a time over strata with room left; terminates because n <= total size.
  while (rest > 0) {
    for (const k of keys) {
      if (rest === 0) break;
      const q = quota.get(k) ?? 0;
      if (q < (sizes.get(k) ?? 0)) {
        quota.set(k, q + 1);
        rest--;
      }
    }
  }
  return quota;
}

export interface BatchOptions {
  /** Drop a final batch smaller than the batch size (default false: keep it). */
  readonly dropLast?: boolean;
}

/** Consecutive fixed-size batches in input order; only the last may be shorter (unless dropped). */
export function batches<A>(xs: readonly A[], size: number, options: BatchOptions = {}): readonly (readonly A[])[] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a positive integer, got ${size}`);
  const out: (readonly A[])[] = [];
  for (let i = 0; i < xs.length; i += size) {
    const b = xs.slice(i, i + size);
    if (b.length === size || options.dropLast !== true) out.push(b);
  }
  return out;
}

/** The batches of one training epoch: a fresh seeded shuffle per epoch, then fixed-size batches. */
export const epochBatches = <A>(
  xs: readonly A[],
  size: number,
  seed: number,
  epoch: number,
  options: BatchOptions = {},
): readonly (readonly A[])[] => batches(shuffle(xs, deriveSeed(seed, epoch)), size, options);

export interface BucketOptions extends BatchOptions {
  readonly batchSize: number;
  readonly seed: number;
  /** Lengths within the same multiple of this width count as equal, so their order stays random. Default 1. */
  readonly bucketWidth?: number;
}

/**
 * Length bucketing: batches of items of similar length (less padding per batch). Items are shuffled with
 * the seed, stably sorted by `floor(length / bucketWidth)` (so equal-length items keep the shuffled order),
 * cut into batches, and the batch order is shuffled with a derived seed so lengths do not rise monotonically.
 */
export function lengthBuckets<A>(
  xs: readonly A[],
  lengthOf: (a: A) => number,
  options: BucketOptions,
): readonly (readonly A[])[] {
  const width = options.bucketWidth ?? 1;
  if (!(width > 0)) throw new RangeError(`bucketWidth must be positive, got ${width}`);
  const keyed = shuffle(xs, options.seed).map((x) => ({ x, k: Math.floor(lengthOf(x) / width) }));
  keyed.sort((a, b) => a.k - b.k);
  const bs = batches(
    keyed.map((e) => e.x),
    options.batchSize,
    options,
  );
  return shuffle(bs, deriveSeed(options.seed, 1));
}
