/**
 * The one error type of the loading layer. `file` is always the file (or folder) at fault so a user
 * can act on it; `message` repeats it so a bare `String(err)` is enough.
 */
import * as E from 'fp-ts/lib/Either.js';

export type LoadErrorKind =
  | 'io' // could not read the file
  | 'format' // bytes or JSON malformed
  | 'unsupported' // well-formed but a feature/dtype we do not handle
  | 'config' // config.json field wrong or missing
  | 'weights' // tensors missing or with the wrong shape
  | 'tokenizer' // tokenizer files unusable
  | 'refused'; // a pickle global outside the allow-list

export interface LoadError {
  readonly _tag: 'LoadError';
  readonly kind: LoadErrorKind;
  readonly file: string;
  readonly detail: string;
  readonly message: string;
}

export const loadError = (kind: LoadErrorKind, file: string, detail: string): LoadError => ({
  _tag: 'LoadError',
  kind,
  file,
  detail,
  message: `${file}: ${detail}`,
});

/** What the throwing conveniences throw: an Error carrying the structured LoadError. */
export class LoadFailure extends Error {
  override readonly name = 'LoadFailure';
  constructor(readonly error: LoadError) {
    super(error.message);
  }
}

export function orThrow<A>(result: E.Either<LoadError, A>): A {
  if (E.isLeft(result)) throw new LoadFailure(result.left);
  return result.right;
}

export const isLoadError = (u: unknown): u is LoadError =>
  typeof u === 'object' && u !== null && (u as { _tag?: unknown })._tag === 'LoadError';

/** Turns anything thrown by third-party code into a LoadError for `file`. */
export function fromThrown(kind: LoadErrorKind, file: string, what: string, e: unknown): LoadError {
  if (e instanceof LoadFailure) return e.error;
  if (isLoadError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return loadError(kind, file, `${what}: ${msg}`);
}

/** Short, safe rendering of an arbitrary JSON value for error messages. */
export function preview(value: unknown, max = 60): string {
  let s: string;
  try {
    s = value === undefined ? 'undefined' : (JSON.stringify(value) ?? 'undefined');
  } catch {
    s = Object.prototype.toString.call(value);
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
