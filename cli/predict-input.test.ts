/**
 * `predict --input` reads a file as `train` and `eval` read the task's data: the same files are accepted
 * (BOM, CRLF, blank lines, `text_pair`), read into the same examples, and refused with the same error
 * naming file, line and field. The one difference: a record to label may leave its label out.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFewglueSubset } from '../data/testing/fewglue-subset.ts';
import { loadTaskData, type Example } from '../training/task-data.ts';
import { UsageError } from '../training/usage-error.ts';
import { parsePredictInput } from './predict-input.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pg-predict-input-'));
/** dev32 and val of every case: its label is in every train file's labels. */
const VALID = '{"text":"ok","label":"a"}\n{"text":"fine","label":"a"}\n';

/** What train/eval make of `text` as a custom task's train.jsonl, and what predict makes of the same file. */
async function bothRead(name: string, text: string) {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'train.jsonl');
  writeFileSync(file, text);
  for (const split of ['dev32', 'val']) writeFileSync(join(dir, `${split}.jsonl`), VALID);
  const loaded = await loadTaskData('custom', dir)();
  let predicted: readonly Example[] | string;
  try {
    predicted = parsePredictInput(file, 'custom');
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    predicted = e.message;
  }
  return { file, loaded: E.isRight(loaded) ? loaded.right.train : loaded.left.message, predicted };
}

/** A reading for an assertion's message: the error, or how many examples were read. */
const said = (r: readonly Example[] | string) => (typeof r === 'string' ? r : `${r.length} examples`);

/** The text the model sees: the classifier and cloze views (predict's labels are placeholders). */
const views = (examples: readonly Example[]) => examples.map((e) => [e.view, e.pattern]);

const single = (text: string) => [{ text }, { text: `${text} ? {mask} .` }];
const pair = (text: string, textPair: string) => [
  { text, textPair },
  { text: `${text} ? {mask} ,`, textPair },
];

const accepted: readonly (readonly [string, string, readonly unknown[]])[] = [
  ['valid', '{"text":"A cat.","label":"a"}\n{"text":"A dog.","label":"b"}\n', [single('A cat.'), single('A dog.')]],
  [
    'text_pair mixed with single texts',
    '{"text":"A cat.","text_pair":"An animal.","label":"a"}\n{"text":"Rain.","label":"b"}',
    [pair('A cat.', 'An animal.'), single('Rain.')],
  ],
  [
    'BOM and CRLF',
    '\uFEFF{"text":"A cat.","label":"a"}\r\n{"text":"Rain.","text_pair":"Wet.","label":1}\r\n',
    [single('A cat.'), pair('Rain.', 'Wet.')],
  ],
  [
    'blank and whitespace lines',
    '\n{"text":"A cat.","label":"a"}\n\n   \n{"text":"Rain.","label":"b"}\n\n',
    [single('A cat.'), single('Rain.')],
  ],
  ['extra fields', '{"text":"A cat.","label":"a","id":7,"source":"web"}\n', [single('A cat.')]],
];

for (const [name, text, expected] of accepted)
  test(`train/eval and predict read the same examples: ${name}`, async () => {
    const { loaded, predicted } = await bothRead(name.replace(/\W+/g, '-'), text);
    assert.ok(typeof loaded !== 'string', `loader: ${said(loaded)}`);
    assert.ok(typeof predicted !== 'string', `predict: ${said(predicted)}`);
    assert.equal(views(loaded), expected, 'loader');
    assert.equal(views(predicted), views(loaded), 'predict reads what train reads');
  });

/** Refused files: the line and field at fault (and the start of the message), the same in both. */
const refused: readonly (readonly [string, string, string])[] = [
  ['bad JSON on line 3', `${VALID}{"text": "a",\n`, ':3: invalid JSON'],
  [
    'missing text on line 2',
    '{"text":"a","label":"a"}\n{"txt":"b","label":"a"}\n',
    ':2: field "text": expected string',
  ],
  ['text not a string', '{"text":3,"label":"a"}\n', ':1: field "text":'],
  [
    'text_pair null',
    '{"text":"a","label":"a"}\r\n{"text":"b","text_pair":null,"label":"a"}\r\n',
    ':2: field "text_pair":',
  ],
  ['a line that is not an object', `${VALID}\n[1, 2]\n`, ':4: field "(record)":'],
  ['label null', '{"text":"a","label":null}\n', ':1: field "label":'],
  ['empty label', '{"text":"a","label":" "}\n', ':1: field "label": empty label'],
];

for (const [name, text, where] of refused)
  test(`train/eval and predict refuse the same file with the same error: ${name}`, async () => {
    const { file, loaded, predicted } = await bothRead(name.replace(/\W+/g, '-'), text);
    assert.type(loaded, 'string');
    assert.ok((loaded as string).startsWith(`${file}${where}`), `loader: ${said(loaded)}`);
    assert.is(predicted, `--input ${loaded as string}`);
  });

test('the one difference: predict takes records without a label, train refuses them naming the field', async () => {
  const { file, loaded, predicted } = await bothRead('no-label', '{"text":"a"}\n{"text":"b","text_pair":"c"}\n');
  assert.type(loaded, 'string');
  assert.ok((loaded as string).startsWith(`${file}:1: field "label":`), said(loaded));
  assert.ok(typeof predicted !== 'string', said(predicted));
  assert.equal(
    predicted.map((e) => e.view),
    [{ text: 'a' }, { text: 'b', textPair: 'c' }],
  );
});

test('FewGLUE: predict reads a BOM + CRLF file with or without labels as train reads it', async () => {
  const root = join(tmp, 'fewglue');
  writeFewglueSubset(root, 'RTE', { train: 4, dev32: 4, val: 5 });
  const val = join(root, 'RTE', 'val.jsonl');
  const lines = readFileSync(val, 'utf8').trim().split('\n');
  writeFileSync(val, `\uFEFF${lines.join('\r\n')}\r\n`);
  const loaded = await loadTaskData('RTE', root)();
  assert.ok(E.isRight(loaded), E.isLeft(loaded) ? loaded.left.message : '');
  assert.is(loaded.right.test.length, 5);
  assert.equal(views(parsePredictInput(val, 'RTE')), views(loaded.right.test));
  const unlabelled = join(tmp, 'rte-unlabelled.jsonl');
  const strip = (l: string) => {
    const { label: _label, idx: _idx, ...rest } = JSON.parse(l) as Record<string, unknown>;
    return JSON.stringify(rest);
  };
  writeFileSync(unlabelled, `\uFEFF${lines.map(strip).join('\r\n')}\r\n`);
  assert.equal(views(parsePredictInput(unlabelled, 'RTE')), views(loaded.right.test));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
