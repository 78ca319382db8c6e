/**
 * Shared checks for the loader fuzz tests: a loader given hostile bytes must return (never throw)
 * and, when it fails, say which file; each call must stay fast (no hang, no giant allocation).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';

/** Runs per property: modest, so all fuzz suites together stay well under the test budget. */
export const NUM_RUNS = Number(process.env['FUZZ_RUNS'] ?? 200);
/** Set FUZZ_SEED to replay a failure fast-check reported. */
export const fcParams = {
  numRuns: NUM_RUNS,
  ...(process.env['FUZZ_SEED'] ? { seed: Number(process.env['FUZZ_SEED']) } : {}),
};

/**
 * Calls `run`; it must return an Either whose Left names `file` first. Anything thrown (RangeError,
 * TypeError, …) fails the property, as does a call slower than `maxMs`.
 */
export function expectHandled<L extends { readonly message: string }, A>(
  run: () => Either<L, A>,
  file: string,
  maxMs = 2000,
): Either<L, A> {
  const t0 = performance.now();
  let r: Either<L, A>;
  try {
    r = run();
  } catch (e) {
    throw new Error(
      `threw instead of returning an error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    );
  }
  const ms = performance.now() - t0;
  if (ms > maxMs) throw new Error(`took ${ms.toFixed(0)} ms`);
  if (E.isLeft(r) && !r.left.message.startsWith(`${file}: `))
    throw new Error(`error does not name the file first: ${r.left.message}`);
  return r;
}
