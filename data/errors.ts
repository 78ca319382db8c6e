/** Data-loading errors: every one names the file, and where it applies the 1-based line and the field. */
import type * as t from 'io-ts';

export type DataErrorKind = 'io' | 'syntax' | 'field' | 'mapping';

export interface DataError {
  readonly kind: DataErrorKind;
  readonly file: string;
  /** 1-based physical line; for a CSV record spanning lines, the line it starts on. Absent for whole-file errors. */
  readonly line?: number;
  /** Field path such as `passage.questions[0].answers[2].label`. */
  readonly field?: string;
  readonly message: string;
}

export function dataError(
  kind: DataErrorKind,
  file: string,
  message: string,
  line?: number,
  field?: string,
): DataError {
  // Spread only defined keys: exactOptionalPropertyTypes forbids `line: undefined`.
  return {
    kind,
    file,
    message,
    ...(line === undefined ? {} : { line }),
    ...(field === undefined ? {} : { field }),
  };
}

/** `file:line: field "x": message`, the form shown to users and used in thrown errors. */
export function formatDataError(e: DataError): string {
  const where = e.line === undefined ? e.file : `${e.file}:${e.line}`;
  const field = e.field === undefined ? '' : ` field "${e.field}":`;
  return `${where}:${field} ${e.message}`;
}

/** Short JSON preview of an offending value, so huge passages do not flood the message. */
export function preview(value: unknown): string {
  if (value === undefined) return 'nothing (field missing)';
  const s = JSON.stringify(value) ?? `<${typeof value}>`;
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** io-ts context -> `a.b[0].c`; array indices are the all-digit keys (none of our field names is numeric). */
function pathOf(context: t.Context): string {
  let out = '';
  for (const { key } of context) {
    if (key === '') continue;
    out += /^\d+$/.test(key) ? `[${key}]` : out === '' ? key : `.${key}`;
  }
  return out === '' ? '(record)' : out;
}

/** The first io-ts validation error as a DataError naming the field, the expected type and the value found. */
export function fromValidation(file: string, line: number, errors: t.Errors): DataError {
  const first = errors[0];
  if (first === undefined) return dataError('field', file, 'invalid record', line);
  const leaf = first.context[first.context.length - 1];
  // Object codecs' names spell out every field type; the field names alone read better.
  const props = (leaf?.type as { readonly props?: Readonly<Record<string, unknown>> } | undefined)?.props;
  const expected =
    props !== undefined
      ? `an object with fields ${Object.keys(props).join(', ')}`
      : (leaf?.type.name ?? 'a valid value');
  return dataError(
    'field',
    file,
    first.message ?? `expected ${expected}, got ${preview(first.value)}`,
    line,
    pathOf(first.context),
  );
}
