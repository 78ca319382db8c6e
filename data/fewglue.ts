/**
 * FewGLUE_32dev loading: `<root>/<Task>/<split>.jsonl` -> typed examples with integer labels.
 * Malformed lines fail with the file, line and field, or with `skipMalformed` are counted in `skipped`.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { TaskEither } from 'fp-ts/lib/TaskEither.js';
import { joinPath as join } from '../io/platform.ts';
import type { DataError } from './errors.ts';
import { parseJsonLines, pathOf, readText } from './jsonl.ts';
import type { ParseOptions } from './jsonl.ts';
import { DECODERS } from './tasks/codecs.ts';
import { LABELS } from './tasks/types.ts';
import type { ExampleOf, Split, TaskName } from './tasks/types.ts';

export * from './tasks/types.ts';
export type { DataError } from './errors.ts';
export { formatDataError } from './errors.ts';
export type { ParseOptions } from './jsonl.ts';

export interface Dataset<T extends TaskName = TaskName> {
  readonly task: T;
  readonly split: Split;
  /** Path the examples were read from (or the name given to `parseTask`). */
  readonly file: string;
  /** Class names; `example.label` indexes this list. */
  readonly labels: readonly string[];
  readonly examples: readonly ExampleOf<T>[];
  /** Errors for lines dropped under `skipMalformed` (always empty otherwise). */
  readonly skipped: readonly DataError[];
}

/** Path of one split file; `root` may be a directory path or a `file:` URL ending in `/`. */
export const taskFile = (root: string | URL, task: TaskName, split: Split): string =>
  join(pathOf(root), task, `${split}.jsonl`);

/** Parses the text of one split file already in memory (tests, browsers, bundled samples). */
export function parseTask<T extends TaskName>(
  task: T,
  split: Split,
  text: string,
  file: string,
  options: ParseOptions = {},
): Either<DataError, Dataset<T>> {
  const decode = DECODERS[task] as (
    file: string,
    v: unknown,
    line: number,
  ) => Either<DataError, readonly ExampleOf<T>[]>;
  return pipe(
    parseJsonLines(file, text, (v, line) => decode(file, v, line), options),
    E.map(({ items, skipped }) => ({ task, split, file, labels: LABELS[task], examples: items, skipped })),
  );
}

/** Reads and parses `<root>/<task>/<split>.jsonl`. */
export function loadTask<T extends TaskName>(
  root: string | URL,
  task: T,
  split: Split,
  options: ParseOptions = {},
): TaskEither<DataError, Dataset<T>> {
  const file = taskFile(root, task, split);
  return pipe(
    readText(file),
    TE.flatMap((text) => TE.fromEither(parseTask(task, split, text, file, options))),
  );
}

/** Examples per class, indexed like `dataset.labels`. */
export function labelCounts(dataset: Dataset): readonly number[] {
  const counts = dataset.labels.map(() => 0);
  for (const e of dataset.examples) counts[e.label] = (counts[e.label] ?? 0) + 1;
  return counts;
}
