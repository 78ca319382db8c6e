/**
 * User data sets: JSON Lines or CSV/TSV with a header row, mapped to text / optional pair / label fields.
 * Labels become class indices into a list that is given or inferred (sorted). Errors name file, line, field.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { TaskEither } from 'fp-ts/lib/TaskEither.js';
import { parseCsv } from './csv.ts';
import { dataError, fromValidation, preview } from './errors.ts';
import type { DataError } from './errors.ts';
import { parseJsonLines, pathOf, readText } from './jsonl.ts';
import type { ParseOptions } from './jsonl.ts';

/** Which source field/column feeds each role, e.g. `{ text: 'sentence', label: 'label' }`. */
export interface FieldMapping {
  readonly text: string;
  readonly textPair?: string;
  readonly label: string;
}

export type GenericFormat = 'jsonl' | 'csv' | 'tsv';

export interface GenericOptions extends ParseOptions {
  readonly mapping: FieldMapping;
  /** Default: from the file extension (.jsonl/.json -> jsonl, .tsv -> tsv, otherwise csv). */
  readonly format?: GenericFormat;
  /** Class names in index order; a label outside it is a field error. Absent: inferred, see `inferLabels`. */
  readonly labels?: readonly string[];
  /**
   * JSON Lines only: a record may leave out the `textPair` field (it is then a single text); one it has must
   * still be a string. CSV/TSV rows always have every header column, so this changes nothing there.
   */
  readonly optionalPair?: boolean;
}

export interface GenericExample {
  readonly text: string;
  readonly textPair?: string;
  /** Index into the data set's `labels`. */
  readonly label: number;
  /** 1-based line the record starts on. */
  readonly line: number;
}

export interface GenericDataset {
  readonly file: string;
  readonly format: GenericFormat;
  readonly labels: readonly string[];
  readonly examples: readonly GenericExample[];
  /** Lines dropped under `skipMalformed`, with the reason (always empty otherwise). */
  readonly skipped: readonly DataError[];
}

/**
 * A record before label indexing; the label is kept as a string (JSON true/1 become "true"/"1"). It is
 * absent only in records to label (`parseGenericInputs`), which may leave it out.
 */
interface RawRecord {
  readonly line: number;
  readonly text: string;
  readonly textPair?: string;
  readonly label?: string;
}

/** A record to label: read as a training record is, the label optional and not indexed. */
export interface GenericInput {
  readonly text: string;
  readonly textPair?: string;
  readonly label?: string;
  /** 1-based line the record starts on. */
  readonly line: number;
}

export function formatOf(file: string): GenericFormat {
  const f = file.toLowerCase();
  return f.endsWith('.jsonl') || f.endsWith('.json') || f.endsWith('.ndjson')
    ? 'jsonl'
    : f.endsWith('.tsv')
      ? 'tsv'
      : 'csv';
}

/**
 * Sorted unique labels: numerically when every label is a number (so "10" follows "2"), otherwise by
 * UTF-16 code units, which is locale-independent and hence the same on every machine.
 */
export function inferLabels(raw: readonly string[]): readonly string[] {
  const unique = [...new Set(raw)];
  const numeric = unique.every((s) => s.trim() !== '' && Number.isFinite(Number(s)));
  return numeric ? unique.sort((a, b) => Number(a) - Number(b)) : unique.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const scalar = new t.Type<string | number | boolean, string | number | boolean, unknown>(
  'string | number | boolean',
  (u): u is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof u),
  (u, c) =>
    ['string', 'number', 'boolean'].includes(typeof u) ? t.success(u as string | number | boolean) : t.failure(u, c),
  t.identity,
);

/** A field that may be left out; one that is there must be a string (JSON has no undefined, so null is refused). */
const optionalString = new t.Type<string | undefined, string | undefined, unknown>(
  'string (or no field)',
  (u): u is string | undefined => u === undefined || typeof u === 'string',
  (u, c) => (u === undefined || typeof u === 'string' ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** A label that may be left out (records to label); one that is there is a scalar, as in training data. */
const optionalScalar = new t.Type<
  string | number | boolean | undefined,
  string | number | boolean | undefined,
  unknown
>(
  scalar.name, // a label that is there is faulted in training's words, so predict and train say the same
  (u): u is string | number | boolean | undefined => u === undefined || scalar.is(u),
  (u, c) => (u === undefined || scalar.is(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** The label-less reading of records to label. */
interface RecordOptions extends ParseOptions, Pick<GenericOptions, 'optionalPair'> {
  readonly optionalLabel?: boolean;
}

function jsonRecords(
  file: string,
  text: string,
  m: FieldMapping,
  options: RecordOptions,
): Either<DataError, { rows: readonly RawRecord[]; skipped: readonly DataError[] }> {
  const pairType = options.optionalPair === true ? optionalString : t.string;
  const codec = t.type({
    [m.text]: t.string,
    [m.label]: options.optionalLabel === true ? optionalScalar : scalar,
    ...(m.textPair === undefined ? {} : { [m.textPair]: pairType }),
  });
  const decode = (v: unknown, line: number): Either<DataError, readonly RawRecord[]> =>
    pipe(
      codec.decode(v),
      E.mapLeft((errs) => fromValidation(file, line, errs)),
      E.map((r) => {
        const pair = m.textPair === undefined ? undefined : r[m.textPair];
        const label = r[m.label];
        return [
          {
            line,
            text: String(r[m.text]),
            ...(label === undefined ? {} : { label: String(label) }),
            ...(pair === undefined ? {} : { textPair: String(pair) }),
          },
        ];
      }),
    );
  return E.map(({ items, skipped }: { items: readonly RawRecord[]; skipped: readonly DataError[] }) => ({
    rows: items,
    skipped,
  }))(parseJsonLines(file, text, decode, options));
}

function csvRecords(
  file: string,
  text: string,
  m: FieldMapping,
  delimiter: string,
  options: ParseOptions,
): Either<DataError, { rows: readonly RawRecord[]; skipped: readonly DataError[] }> {
  return E.flatMap(parseCsv(file, text, { delimiter }), (records) => {
    const [header, ...body] = records;
    if (header === undefined) return E.left(dataError('mapping', file, 'no header row (the file is empty)'));
    const column = new Map<string, number>();
    for (const [i, name] of header.fields.entries()) {
      if (column.has(name))
        return E.left(dataError('mapping', file, `duplicate column name in the header`, header.line, name));
      column.set(name, i);
    }
    const wanted = [m.text, m.label, ...(m.textPair === undefined ? [] : [m.textPair])];
    for (const name of wanted) {
      if (!column.has(name)) {
        return E.left(
          dataError('mapping', file, `column not in header (have: ${header.fields.join(', ')})`, header.line, name),
        );
      }
    }
    const rows: RawRecord[] = [];
    const skipped: DataError[] = [];
    for (const r of body) {
      if (r.fields.length !== header.fields.length) {
        const err = dataError(
          'field',
          file,
          `expected ${header.fields.length} fields as in the header, found ${r.fields.length}`,
          r.line,
          '(columns)',
        );
        if (options.skipMalformed === true) {
          skipped.push(err);
          continue;
        }
        return E.left(err);
      }
      const get = (name: string): string => r.fields[column.get(name)!]!;
      const pair = m.textPair === undefined ? undefined : get(m.textPair);
      rows.push({
        line: r.line,
        text: get(m.text),
        label: get(m.label),
        ...(pair === undefined ? {} : { textPair: pair }),
      });
    }
    return E.right({ rows, skipped });
  });
}

/** A label that is there but blank; a training record must have a label, a record to label need not. */
const emptyLabel = (file: string, r: RawRecord, m: FieldMapping): DataError | undefined =>
  r.label?.trim() === '' ? dataError('field', file, 'empty label', r.line, m.label) : undefined;

/** Assigns class indices; an empty or unlisted label is a field error (or a skipped line). */
function indexLabels(
  file: string,
  rows: readonly RawRecord[],
  skipped0: readonly DataError[],
  m: FieldMapping,
  options: GenericOptions,
  format: GenericFormat,
): Either<DataError, GenericDataset> {
  const skipped = [...skipped0];
  const valid: (RawRecord & { readonly label: string })[] = [];
  const labelError = (r: RawRecord, message: string): DataError => dataError('field', file, message, r.line, m.label);
  for (const r of rows) {
    // parseGeneric's codec requires the label field, so `undefined` is only there for the type
    const label = r.label ?? '';
    const err =
      emptyLabel(file, { ...r, label }, m) ??
      (options.labels !== undefined && !options.labels.includes(label)
        ? labelError(
            r,
            `label ${preview(label)} is not one of ${options.labels.map((l) => JSON.stringify(l)).join(', ')}`,
          )
        : undefined);
    if (err === undefined) valid.push({ ...r, label });
    else if (options.skipMalformed === true) skipped.push(err);
    else return E.left(err);
  }
  const labels = options.labels ?? inferLabels(valid.map((r) => r.label));
  const index = new Map(labels.map((l, i) => [l, i] as const));
  const examples = valid.map((r): GenericExample => ({
    text: r.text,
    label: index.get(r.label)!,
    line: r.line,
    ...(r.textPair === undefined ? {} : { textPair: r.textPair }),
  }));
  skipped.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return E.right({ file, format, labels, examples, skipped });
}

/** Parses user data already in memory; `file` names it in errors and picks the format when none is given. */
export function parseGeneric(file: string, text: string, options: GenericOptions): Either<DataError, GenericDataset> {
  const m = options.mapping;
  const format = options.format ?? formatOf(file);
  if (options.labels !== undefined && new Set(options.labels).size !== options.labels.length) {
    return E.left(dataError('mapping', file, `given label list has duplicates: ${options.labels.join(', ')}`));
  }
  const records =
    format === 'jsonl'
      ? jsonRecords(file, text, m, options)
      : csvRecords(file, text, m, format === 'tsv' ? '\t' : ',', options);
  return E.flatMap(records, ({ rows, skipped }) => indexLabels(file, rows, skipped, m, options, format));
}

export function loadGeneric(file: string | URL, options: GenericOptions): TaskEither<DataError, GenericDataset> {
  const path = pathOf(file);
  return pipe(
    readText(path),
    TE.flatMap((text) => TE.fromEither(parseGeneric(path, text, options))),
  );
}

/**
 * Records to label (predict's input): JSON Lines read exactly as `parseGeneric` reads a training file (BOM,
 * CRLF, blank lines, field checks and the errors that name file, line and field), except that the label may
 * be left out. A label that is there is checked as in training data (a non-empty scalar) but not indexed:
 * the classes are the trained model's, and the value is not used.
 */
export function parseGenericInputs(
  file: string,
  text: string,
  options: Pick<GenericOptions, 'mapping' | 'optionalPair'>,
): Either<DataError, readonly GenericInput[]> {
  const m = options.mapping;
  return E.flatMap(jsonRecords(file, text, m, { ...options, optionalLabel: true }), ({ rows }) => {
    for (const r of rows) {
      const fault = emptyLabel(file, r, m);
      if (fault !== undefined) return E.left(fault);
    }
    return E.right(rows);
  });
}
