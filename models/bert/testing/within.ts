/**
 * The fixture tests' comparison: every element within atol + rtol·|ref|, and NaN never matches
 * (stricter than proofs-tests/support/close.ts, where NaN matches NaN: a reference output from
 * Hugging Face is never NaN, so a NaN here is always a bug). Fails naming the worst element.
 */
import * as assert from 'uvu/assert';

export function expectWithin(
  label: string,
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  atol: number,
  rtol: number,
): void {
  assert.is(got.length, ref.length, `${label}: length`);
  let worst = 0,
    at = -1,
    maxAbs = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i]! - ref[i]!);
    maxAbs = Math.max(maxAbs, d);
    const r = d / (atol + rtol * Math.abs(ref[i]!));
    if (!(r <= worst)) {
      worst = r;
      at = i;
    }
  }
  assert.ok(
    worst <= 1,
    `${label}: element ${at} got ${got[at]} want ${ref[at]} (max abs diff ${maxAbs.toExponential(2)}, atol ${atol}, rtol ${rtol})`,
  );
}
