/**
 * A splittable, counter-based PRNG (JAX-style keys, passed explicitly; no global state).
 * A key is two u32 words; `split` derives independent keys by hashing (key, index); draws hash
 * (key, counter) with a 64-bit-state mix built from 32-bit multiplies (murmur3 finalisers).
 */
export type PRNGKey = readonly [number, number];

export const prngKey = (seed: number): PRNGKey => mix2(seed >>> 0, (Math.floor(seed / 2 ** 32) >>> 0) ^ 0x9e3779b9);

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mix2(a: number, b: number): PRNGKey {
  const x = fmix32(a ^ Math.imul(b, 0x9e3779b1));
  const y = fmix32(b ^ Math.imul(x + 0x7f4a7c15, 0xcc9e2d51));
  return [x, y];
}

/** n independent keys derived from `key`. */
export function splitKey(key: PRNGKey, n = 2): PRNGKey[] {
  return Array.from({ length: n }, (_, i) =>
    mix2(key[0] ^ fmix32(i + 1), fmix32(key[1] + Math.imul(i + 1, 0x632be5ab))),
  );
}

/** Folds data (a step number, a layer index) into a key. */
export const foldIn = (key: PRNGKey, data: number): PRNGKey => mix2(key[0] ^ fmix32(data >>> 0), key[1]);

/** The counter-th u32 of the stream of `key`. */
function bits(key: PRNGKey, counter: number): number {
  return fmix32(key[0] ^ fmix32(counter ^ key[1]) ^ Math.imul(counter, 0x27d4eb2f));
}

/** n uniform draws in [0, 1), each from 53 random bits. */
export function uniformArray(key: PRNGKey, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const hi = bits(key, 2 * i) >>> 5,
      lo = bits(key, 2 * i + 1) >>> 6;
    out[i] = (hi * 67108864 + lo) / 9007199254740992;
  }
  return out;
}

/** n standard normal draws (Box–Muller on pairs of uniforms). */
export function normalArray(key: PRNGKey, n: number): Float64Array {
  const u = uniformArray(key, n + (n % 2));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u[i]!)),
      t = 2 * Math.PI * u[i + 1]!;
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/** Integer draws in [0, n) (for sampling rows, shuffles). */
export function randIntArray(key: PRNGKey, count: number, n: number): Int32Array {
  const u = uniformArray(key, count);
  return Int32Array.from(u, (v) => Math.min(n - 1, Math.floor(v * n)));
}
