/**
 * expectClose (llm.c `validate_result` style): counts every i with |got − ref| > atol + rtol·|ref|,
 * reports the first 10 with index, and the max abs / rel difference. NaN matches only NaN.
 */
import { Tensor } from '../../core/index.ts';

export interface Tol {
  readonly atol: number;
  readonly rtol: number;
}

export type Numbers = ArrayLike<number> | Tensor | number;

function toArray(v: Numbers): ArrayLike<number> {
  if (typeof v === 'number') return [v];
  if (v instanceof Tensor) return v.dataSync();
  return v;
}

/** Throws an Error describing the mismatches; returns silently when every element is close. */
export function expectClose(got: Numbers, ref: Numbers, tol: Tol, label = 'values'): void {
  const g = toArray(got),
    r = toArray(ref);
  if (got instanceof Tensor && ref instanceof Tensor && got.shape.join(',') !== ref.shape.join(',')) {
    throw new Error(`${label}: shape [${got.shape.join(', ')}] vs reference [${ref.shape.join(', ')}]`);
  }
  if (g.length !== r.length) throw new Error(`${label}: ${g.length} values vs ${r.length} in the reference`);
  let bad = 0,
    maxAbs = 0,
    maxRel = 0;
  const first: string[] = [];
  for (let i = 0; i < r.length; i++) {
    const a = g[i]!,
      b = r[i]!;
    if (Number.isNaN(b) || Number.isNaN(a)) {
      if (Number.isNaN(a) && Number.isNaN(b)) continue;
      bad++;
      if (first.length < 10) first.push(`  [${i}] got ${a} ref ${b}`);
      continue;
    }
    if (a === b) continue; // covers matching infinities
    const d = Math.abs(a - b);
    maxAbs = Math.max(maxAbs, d);
    if (b !== 0) maxRel = Math.max(maxRel, d / Math.abs(b));
    if (!(d <= tol.atol + tol.rtol * Math.abs(b))) {
      bad++;
      if (first.length < 10) first.push(`  [${i}] got ${a} ref ${b} |diff| ${d.toExponential(3)}`);
    }
  }
  if (bad > 0) {
    throw new Error(
      `${label}: ${bad} of ${r.length} values differ (atol ${tol.atol}, rtol ${tol.rtol}); ` +
        `max abs diff ${maxAbs.toExponential(3)}, max rel diff ${maxRel.toExponential(3)}\n${first.join('\n')}`,
    );
  }
}

/** The scalar rule used by gradient checks: |a − b| ≤ atol + rtol·max(|a|, |b|). */
export const scalarClose = (a: number, b: number, tol: Tol): boolean =>
  Math.abs(a - b) <= tol.atol + tol.rtol * Math.max(Math.abs(a), Math.abs(b));
