/**
 * A small RFC 4180 CSV reader: quoted fields may hold the delimiter, line breaks and doubled quotes ("");
 * records end at CRLF, LF or CR. Written here because no CSV package is a dependency. Lenient in two common
 * ways: a quote inside an unquoted field is kept literally, and blank lines are skipped.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { dataError } from './errors.ts';
import type { DataError } from './errors.ts';

export interface CsvRecord {
  /** 1-based line on which the record starts (a quoted line break makes it span more). */
  readonly line: number;
  readonly fields: readonly string[];
}

export interface CsvOptions {
  /** Field separator, one character; default ",". Use "\t" for TSV. */
  readonly delimiter?: string;
}

type State = 'fieldStart' | 'unquoted' | 'quoted' | 'afterQuote';

export function parseCsv(
  file: string,
  text: string,
  options: CsvOptions = {},
): Either<DataError, readonly CsvRecord[]> {
  const delim = options.delimiter ?? ',';
  if (delim.length !== 1 || delim === '"' || delim === '\n' || delim === '\r') {
    return E.left(dataError('mapping', file, `invalid CSV delimiter ${JSON.stringify(delim)}`));
  }
  const src = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let buf = '';
  let state: State = 'fieldStart';
  let line = 1;
  let recordLine = 1;
  let quoteLine = 1;
  let quoted = false; // the record has a quoted field, so a lone "" is a real (empty) record, not a blank line

  const endField = (): void => {
    fields.push(buf);
    buf = '';
    state = 'fieldStart';
  };
  const endRecord = (): void => {
    endField();
    if (quoted || fields.length > 1 || fields[0] !== '') records.push({ line: recordLine, fields });
    fields = [];
    quoted = false;
  };

  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    const crlf = c === '\r' && src[i + 1] === '\n';
    if (state === 'fieldStart' && fields.length === 0 && buf === '') recordLine = line;
    if (state === 'quoted') {
      if (c !== '"')
        buf += c; // line breaks included
      else if (src[i + 1] === '"') {
        buf += '"';
        i++;
      } else state = 'afterQuote';
    } else if (crlf) {
      // the \n that follows ends the record
    } else if (c === delim) {
      endField();
    } else if (c === '\n' || c === '\r') {
      endRecord();
    } else if (state === 'afterQuote') {
      return E.left(
        dataError(
          'syntax',
          file,
          `unexpected ${JSON.stringify(c)} after the closing quote of field ${fields.length + 1}`,
          line,
        ),
      );
    } else if (state === 'fieldStart' && c === '"') {
      state = 'quoted';
      quoted = true;
      quoteLine = line;
    } else {
      state = 'unquoted';
      buf += c;
    }
    if (c === '\n' || (c === '\r' && !crlf)) line++;
  }
  if (state === 'quoted') {
    return E.left(
      dataError(
        'syntax',
        file,
        `unterminated quoted field ${fields.length + 1} (opened on line ${quoteLine})`,
        recordLine,
      ),
    );
  }
  if (state !== 'fieldStart' || fields.length > 0 || quoted) endRecord();
  return E.right(records);
}
