import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCsv } from './csv.ts';
import type { CsvRecord } from './csv.ts';
import { formatDataError } from './errors.ts';
import type { DataError } from './errors.ts';
import { formatOf, inferLabels, loadGeneric, parseGeneric } from './generic.ts';
import type { GenericDataset, GenericOptions } from './generic.ts';

const csv = (text: string): readonly CsvRecord[] => {
  const r = parseCsv('t.csv', text);
  if (r._tag === 'Left') throw new Error(formatDataError(r.left));
  return r.right;
};
const csvErr = (text: string): DataError => {
  const r = parseCsv('t.csv', text);
  if (r._tag === 'Right') throw new Error(`expected an error, got ${JSON.stringify(r.right)}`);
  return r.left;
};
const ok = (file: string, text: string, options: GenericOptions): GenericDataset => {
  const r = parseGeneric(file, text, options);
  if (r._tag === 'Left') throw new Error(formatDataError(r.left));
  return r.right;
};
const err = (file: string, text: string, options: GenericOptions): DataError => {
  const r = parseGeneric(file, text, options);
  if (r._tag === 'Right') throw new Error(`expected an error, got ${r.right.examples.length} examples`);
  return r.left;
};

test('CSV: plain records, CRLF, empty fields, no final newline', () => {
  assert.equal(
    csv('a,b,c\r\n1,,3\r\n,,\r\nx,y,z').map((r) => r.fields),
    [
      ['a', 'b', 'c'],
      ['1', '', '3'],
      ['', '', ''],
      ['x', 'y', 'z'],
    ],
  );
  assert.equal(csv(''), []);
  assert.equal(
    csv('a\n\n\nb\n').map((r) => [r.line, r.fields]),
    [
      [1, ['a']],
      [4, ['b']],
    ],
  ); // blank lines skipped
});

test('CSV: quoted commas, doubled quotes and line breaks (RFC 4180)', () => {
  const text = 'text,label\n"Hello, world",pos\n"She said ""hi""",neg\n"two\nlines\r\nhere",pos\n"",neg\nlast,"x"\n';
  const rs = csv(text);
  assert.equal(
    rs.map((r) => r.fields),
    [
      ['text', 'label'],
      ['Hello, world', 'pos'],
      ['She said "hi"', 'neg'],
      ['two\nlines\r\nhere', 'pos'],
      ['', 'neg'],
      ['last', 'x'],
    ],
  );
  assert.equal(
    rs.map((r) => r.line),
    [1, 2, 3, 4, 7, 8],
  ); // a record's first physical line
  assert.equal(
    csv('""\n').map((r) => r.fields),
    [['']],
  ); // a quoted empty field is a record, not a blank line
  assert.equal(
    csv('5" screen,x').map((r) => r.fields),
    [['5" screen', 'x']],
  ); // lenient: stray quote kept
  assert.equal(
    csv('a\rb\r').map((r) => [r.line, r.fields]),
    [
      [1, ['a']],
      [2, ['b']],
    ],
  );
});

test('CSV: syntax errors name the line', () => {
  const open = csvErr('a,b\n1,2\n3,"unclosed\nstill open\n');
  assert.equal([open.kind, open.line], ['syntax', 3]);
  assert.match(open.message, 'unterminated quoted field 2 (opened on line 3)');
  const after = csvErr('a,b\n"x"y,2\n');
  assert.equal([after.line, after.kind], [2, 'syntax']);
  assert.match(after.message, 'after the closing quote of field 1');
});

test('property: RFC 4180 writing then parsing gives the fields back', () => {
  const field = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é') });
  const quote = (s: string): string => `"${s.replaceAll('"', '""')}"`;
  fc.assert(
    fc.property(fc.array(fc.array(field, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 8 }), (rows) => {
      const text = rows.map((r) => r.map(quote).join(',')).join('\r\n') + '\r\n';
      return JSON.stringify(csv(text).map((r) => r.fields)) === JSON.stringify(rows);
    }),
  );
});

const mapping = { text: 'sentence', label: 'label' } as const;

test('CSV data: mapping, pair, inferred sorted labels', () => {
  const text = 'id,sentence,other,label\n1,"Great, really",x,pos\n2,Bad,y,neg\n3,"Fine ""ish""",z,neutral\n';
  const ds = ok('reviews.csv', text, { mapping: { ...mapping, textPair: 'other' } });
  assert.is(ds.format, 'csv');
  assert.equal(ds.labels, ['neg', 'neutral', 'pos']);
  assert.equal(ds.examples, [
    { text: 'Great, really', textPair: 'x', label: 2, line: 2 },
    { text: 'Bad', textPair: 'y', label: 0, line: 3 },
    { text: 'Fine "ish"', textPair: 'z', label: 1, line: 4 },
  ]);
  const given = ok('reviews.csv', text, { mapping, labels: ['pos', 'neg', 'neutral'] });
  assert.equal(
    given.examples.map((e) => e.label),
    [0, 1, 2],
  );
  assert.is(given.examples[0]!.textPair, undefined);
});

test('CSV data errors: unknown label, missing column, wrong field count, skip mode', () => {
  const text = 'sentence,label\na,pos\nb,meh\nc\nd,neg\ne,\n';
  const unknown = err('d.csv', 'sentence,label\na,pos\nb,meh\n', { mapping, labels: ['neg', 'pos'] });
  assert.equal([unknown.file, unknown.line, unknown.field], ['d.csv', 3, 'label']);
  assert.match(unknown.message, '"meh" is not one of "neg", "pos"');
  const column = err('d.csv', 'text,label\na,pos\n', { mapping });
  assert.equal([column.kind, column.line, column.field], ['mapping', 1, 'sentence']);
  const count = err('d.csv', text, { mapping });
  assert.equal([count.line, count.field], [4, '(columns)']);
  const skipped = ok('d.csv', text, { mapping, labels: ['neg', 'pos'], skipMalformed: true });
  assert.equal(
    skipped.examples.map((e) => e.text),
    ['a', 'd'],
  );
  assert.equal(
    skipped.skipped.map((s) => [s.line, s.field]),
    [
      [3, 'label'],
      [4, '(columns)'],
      [6, 'label'],
    ],
  );
  assert.is(err('d.csv', '', { mapping }).kind, 'mapping');
  assert.is(err('d.csv', 'sentence,label,label\n', { mapping }).field, 'label');
});

test('JSONL data: scalar labels, numeric label order, field errors', () => {
  const lines = [
    { s: 'one', y: 10 },
    { s: 'two', y: 2 },
    { s: 'three', y: 2 },
  ]
    .map((o) => JSON.stringify(o))
    .join('\n');
  const ds = ok('u.jsonl', lines, { mapping: { text: 's', label: 'y' } });
  assert.equal(ds.labels, ['2', '10']);
  assert.equal(
    ds.examples.map((e) => e.label),
    [1, 0, 0],
  );
  const bools = ok('u.jsonl', '{"t":"a","l":true}\n{"t":"b","l":false}\n', { mapping: { text: 't', label: 'l' } });
  assert.equal(bools.labels, ['false', 'true']);
  const missing = err('u.jsonl', '{"t":"a","l":1}\n{"l":1}\n', { mapping: { text: 't', label: 'l' } });
  assert.equal([missing.line, missing.field], [2, 't']);
  const badPair = err('u.jsonl', '{"t":"a","p":3,"l":1}\n', { mapping: { text: 't', textPair: 'p', label: 'l' } });
  assert.equal([badPair.line, badPair.field], [1, 'p']);
  const noPair = err('u.jsonl', '{"t":"a","l":1}\n', { mapping: { text: 't', textPair: 'p', label: 'l' } });
  assert.equal([noPair.line, noPair.field], [1, 'p'], 'a mapped pair field is required unless optionalPair');
  const optional = { mapping: { text: 't', textPair: 'p', label: 'l' }, optionalPair: true } as const;
  assert.equal(
    ok('u.jsonl', '{"t":"a","l":1}\n{"t":"b","p":"c","l":1}\n', optional).examples.map((e) => e.textPair),
    [undefined, 'c'],
  );
  for (const p of ['3', 'null']) {
    const e = err('u.jsonl', `{"t":"a","l":1}\n{"t":"b","p":${p},"l":1}\n`, optional);
    assert.equal([e.line, e.field], [2, 'p'], `optional pair ${p}`);
  }
  const skip = ok('u.jsonl', '{"t":"a","l":1}\nnope\n{"t":"c","l":[1]}\n', {
    mapping: { text: 't', label: 'l' },
    skipMalformed: true,
  });
  assert.equal(
    skip.skipped.map((s) => [s.line, s.kind]),
    [
      [2, 'syntax'],
      [3, 'field'],
    ],
  );
  assert.is(err('u.jsonl', '', { mapping, labels: ['a', 'a'] }).kind, 'mapping');
});

test('format from the extension; loadGeneric reads files; TSV', async () => {
  assert.equal(['a.jsonl', 'a.JSON', 'a.tsv', 'a.csv', 'a.txt'].map(formatOf), ['jsonl', 'jsonl', 'tsv', 'csv', 'csv']);
  assert.equal(inferLabels(['b', 'B', 'a']), ['B', 'a', 'b']);
  const dir = mkdtempSync(join(tmpdir(), 'promptgrad-generic-'));
  try {
    writeFileSync(join(dir, 'd.tsv'), 'sentence\tlabel\na, b\tyes\n');
    const r = await loadGeneric(join(dir, 'd.tsv'), { mapping })();
    if (r._tag === 'Left') throw new Error(formatDataError(r.left));
    assert.equal(r.right.examples, [{ text: 'a, b', label: 0, line: 2 }]);
    const missing = await loadGeneric(join(dir, 'none.csv'), { mapping })();
    assert.ok(missing._tag === 'Left' && missing.left.kind === 'io' && missing.left.file === join(dir, 'none.csv'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
