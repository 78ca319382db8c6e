/** File reading and JSON Lines parsing shared by the FewGLUE and generic loaders (the Either/TaskEither edge). */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { TaskEither } from 'fp-ts/lib/TaskEither.js';
import { platformFiles, urlToPath } from '../io/platform.ts';
import { dataError } from './errors.ts';
import type { DataError } from './errors.ts';

export interface ParseOptions {
  /** Count and report malformed lines instead of failing on the first one. */
  readonly skipMalformed?: boolean;
}

/** Parsed items plus, in skip mode, one error per skipped line (empty otherwise). */
export interface Parsed<A> {
  readonly items: readonly A[];
  readonly skipped: readonly DataError[];
}

export interface SourceLine {
  /** 1-based. */
  readonly line: number;
  readonly text: string;
}

export const pathOf = (file: string | URL): string => (typeof file === 'string' ? file : urlToPath(file));

/**
 * Whole file as UTF-8 text; a missing or unreadable file becomes an `io` DataError naming it. Decoding is
 * strict: invalid UTF-8 is a `syntax` error naming the file, line and byte, never U+FFFD replacements that
 * would train on damaged text.
 */
export function readText(file: string | URL): TaskEither<DataError, string> {
  const path = pathOf(file);
  return TE.flatMapEither(
    TE.tryCatch(
      () => platformFiles.readBytes(path),
      (e) => dataError('io', path, `cannot read file: ${e instanceof Error ? e.message : String(e)}`),
    ),
    (bytes) => decodeUtf8Strict(bytes, path),
  );
}

/** Strict UTF-8; an invalid sequence is reported with its 1-based line and the byte offset in the file. */
export function decodeUtf8Strict(bytes: Uint8Array, file: string): Either<DataError, string> {
  try {
    return E.right(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    // Find the line: a newline byte (0x0A) never occurs inside a multi-byte UTF-8 sequence.
    const strict = new TextDecoder('utf-8', { fatal: true });
    let start = 0;
    for (let line = 1; ; line++) {
      const nl = bytes.indexOf(0x0a, start);
      const end = nl < 0 ? bytes.length : nl;
      try {
        strict.decode(bytes.subarray(start, end));
      } catch {
        return E.left(
          dataError(
            'syntax',
            file,
            `not valid UTF-8 (bytes ${start}..${end} of the file); re-save the file as UTF-8`,
            line,
          ),
        );
      }
      if (nl < 0) break;
      start = nl + 1;
    }
    return E.left(dataError('syntax', file, 'not valid UTF-8; re-save the file as UTF-8'));
  }
}

/** Physical lines with 1-based numbers; drops a BOM and the `\r` of CRLF so user files from Windows parse. */
export function splitLines(text: string): readonly SourceLine[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const parts = body.split('\n');
  if (parts[parts.length - 1] === '') parts.pop(); // the final newline ends the last line, it opens none
  return parts.map((p, i) => ({ line: i + 1, text: p.endsWith('\r') ? p.slice(0, -1) : p }));
}

/**
 * Parses JSON Lines: each non-blank line is JSON.parse'd then handed to `decode`, which may yield several
 * items (MultiRC flattens a passage into answer options). Blank lines are ignored, as most JSONL writers do.
 */
export function parseJsonLines<A>(
  file: string,
  text: string,
  decode: (value: unknown, line: number) => Either<DataError, readonly A[]>,
  options: ParseOptions = {},
): Either<DataError, Parsed<A>> {
  const items: A[] = [];
  const skipped: DataError[] = [];
  for (const { line, text: src } of splitLines(text)) {
    if (src.trim() === '') continue;
    const result = E.flatMap(parseJson(file, line, src), (v) => decode(v, line));
    if (E.isRight(result)) items.push(...result.right);
    else if (options.skipMalformed === true) skipped.push(result.left);
    else return result;
  }
  return E.right({ items, skipped });
}

function parseJson(file: string, line: number, src: string): Either<DataError, unknown> {
  try {
    return E.right(JSON.parse(src) as unknown);
  } catch (e) {
    return E.left(dataError('syntax', file, `invalid JSON: ${e instanceof Error ? e.message : String(e)}`, line));
  }
}
