/** Deterministic test inputs from the project's mulberry32 stream (data/sampling.ts). */
import { mulberry32 } from '../../data/sampling.ts';

/** n values in [lo, hi), rounded to f32, so a f32 backend and the f64 reference see identical numbers. */
export function seededValues(seed: number, n: number, lo = -2, hi = 2): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}
