/** Scalar math the CPU kernels share. erf is exact to ~1e-15 for f64 (GELU must match HF's erf GELU). */

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_PI = 0.5641895835477563;

/**
 * erf in double precision. |x| < 3: the all-positive series
 * erf(x) = 2/√π · e^{-x²} · Σ_n 2ⁿ x^{2n+1} / (1·3·…·(2n+1)), which has no cancellation;
 * |x| ≥ 3: erfc by its continued fraction, evaluated bottom-up.
 */
export function erf64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 3) {
    const x2 = ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    const r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
    return x < 0 ? -r : r;
  }
  if (ax > 6) return x < 0 ? -1 : 1;
  // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = (Math.exp(-ax * ax) * INV_SQRT_PI) / f;
  return x < 0 ? erfc - 1 : 1 - erfc;
}

/** Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7): below f32 resolution, used for f32 tensors. */
export function erf32(x: number): number {
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * ax);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-ax * ax);
  return x < 0 ? -y : y;
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;

export const gelu = (x: number, erf: (v: number) => number): number => 0.5 * x * (1 + erf(x * INV_SQRT2));
export const geluGrad = (x: number, erf: (v: number) => number): number =>
  0.5 * (1 + erf(x * INV_SQRT2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);

export const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
