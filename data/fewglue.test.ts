import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDataError, labelCounts, loadTask, parseTask, SPLITS, TASKS } from './fewglue.ts';
import type { DataError, Dataset, Split, TaskName } from './fewglue.ts';

const ROOT = new URL('../datasets/fewglue/', import.meta.url);
const SAMPLES = new URL('./samples/', import.meta.url);

const VAL_SIZES: Record<TaskName, number> = {
  BoolQ: 3270,
  CB: 56,
  COPA: 100,
  MultiRC: 4848,
  RTE: 277,
  WiC: 638,
  WSC: 104,
};
// Label distributions from the fewglue README (per answer option for MultiRC), in LABELS order.
const COUNTS: Record<TaskName, Record<Split, readonly number[]>> = {
  BoolQ: { train: [14, 18], dev32: [13, 19], val: [1237, 2033] },
  CB: { train: [19, 10, 3], dev32: [17, 13, 2], val: [23, 28, 5] },
  COPA: { train: [14, 18], dev32: [15, 17], val: [55, 45] },
  MultiRC: { train: [86, 68], dev32: [93, 74], val: [2773, 2075] },
  RTE: { train: [13, 19], dev32: [21, 11], val: [146, 131] },
  WiC: { train: [15, 17], dev32: [16, 16], val: [319, 319] },
  WSC: { train: [0, 32], dev32: [22, 10], val: [66, 38] },
};

async function load<T extends TaskName>(
  root: string | URL,
  task: T,
  split: Split,
  skipMalformed = false,
): Promise<Dataset<T>> {
  const r = await loadTask(root, task, split, { skipMalformed })();
  if (r._tag === 'Left') throw new Error(formatDataError(r.left));
  return r.right;
}

async function loadErr(root: string | URL, task: TaskName, split: Split): Promise<DataError> {
  const r = await loadTask(root, task, split)();
  if (r._tag === 'Right') throw new Error(`expected an error, loaded ${r.right.examples.length} examples`);
  return r.left;
}

test('every task and split loads with the published counts and label distributions', async () => {
  for (const task of TASKS) {
    for (const split of SPLITS) {
      const ds = await load(ROOT, task, split);
      const expected = split === 'val' ? VAL_SIZES[task] : COUNTS[task][split].reduce((a, b) => a + b, 0);
      if (task !== 'MultiRC' && split !== 'val') assert.is(expected, 32);
      assert.is(ds.examples.length, expected, `${task}/${split}`);
      assert.equal(labelCounts(ds), COUNTS[task][split], `${task}/${split} labels`);
      assert.is(ds.skipped.length, 0);
      assert.ok(
        ds.examples.every(
          (e) => e.task === task && Number.isInteger(e.label) && e.label >= 0 && e.label < ds.labels.length,
        ),
      );
    }
  }
});

test('MultiRC flattens to answer options grouped by question', async () => {
  const groups = async (split: Split): Promise<number> =>
    new Set((await load(ROOT, 'MultiRC', split)).examples.map((e) => e.group)).size;
  assert.is(await groups('train'), 32);
  assert.is(await groups('dev32'), 32);
  assert.is(await groups('val'), 953);
  const first = (await load(ROOT, 'MultiRC', 'train')).examples[0]!;
  assert.is(first.passageIdx, 6);
  assert.is(first.line, 1);
  assert.ok(first.passage.startsWith('A stranger in town'));
});

test('typed fields of a few known records', async () => {
  const copa = (await load(ROOT, 'COPA', 'train')).examples[0]!;
  assert.equal(
    { premise: copa.premise, question: copa.question, label: copa.label, idx: copa.idx },
    { premise: 'The chandelier shattered on the floor.', question: 'cause', label: 0, idx: 249 },
  );
  const wsc = (await load(ROOT, 'WSC', 'train')).examples[0]!;
  assert.equal(
    [wsc.span1, wsc.span2],
    [
      { text: 'Tina', index: 13 },
      { text: 'it', index: 21 },
    ],
  );
  const wic = (await load(ROOT, 'WiC', 'train')).examples[0]!;
  assert.is(wic.sentence2.slice(wic.start2, wic.end2), 'felt');
  const cb = (await load(ROOT, 'CB', 'train')).examples[0]!;
  assert.is(cb.label, 0); // entailment
});

test('bundled samples load with the same loader', async () => {
  for (const task of TASKS) {
    for (const split of ['train', 'dev32'] as const) {
      const ds = await load(SAMPLES, task, split);
      const lines = new Set(ds.examples.map((e) => e.line));
      assert.is(lines.size, 4, `${task}/${split}`);
    }
  }
});

// --- malformed input, written to a temporary root laid out like fewglue/ ---

const tmp = mkdtempSync(join(tmpdir(), 'promptgrad-fewglue-'));
function write(task: TaskName, split: Split, lines: readonly string[]): string {
  const dir = join(tmp, task);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${split}.jsonl`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const rte = (label: unknown, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ premise: 'P.', hypothesis: 'H.', idx: 1, label, ...extra });

test('a bad label names file, line and field', async () => {
  const file = write('RTE', 'train', [rte('entailment'), rte('maybe')]);
  const e = await loadErr(tmp, 'RTE', 'train');
  assert.equal([e.kind, e.file, e.line, e.field], ['field', file, 2, 'label']);
  assert.match(e.message, '"entailment" | "not_entailment"');
  assert.match(e.message, '"maybe"');
  assert.is(formatDataError(e).startsWith(`${file}:2: field "label":`), true);
});

test('invalid JSON and missing fields', async () => {
  write('RTE', 'dev32', [rte('entailment'), rte('entailment'), '{"premise": "P", ']);
  const syntax = await loadErr(tmp, 'RTE', 'dev32');
  assert.equal([syntax.kind, syntax.line, syntax.field], ['syntax', 3, undefined]);
  assert.match(syntax.message, 'invalid JSON');

  write('CB', 'train', [JSON.stringify({ premise: 'P', idx: 3, label: 'neutral' })]);
  const missing = await loadErr(tmp, 'CB', 'train');
  assert.equal([missing.line, missing.field], [1, 'hypothesis']);
  assert.match(missing.message, 'missing');

  write('COPA', 'train', [
    JSON.stringify({ premise: 'p', choice1: 'a', choice2: 'b', question: 'cause', label: 0, idx: -1 }),
  ]);
  assert.is((await loadErr(tmp, 'COPA', 'train')).field, 'idx');

  write('BoolQ', 'train', ['[1, 2]']);
  assert.is((await loadErr(tmp, 'BoolQ', 'train')).field, '(record)');
});

test('nested MultiRC errors carry the full field path', async () => {
  const rec = (label: unknown): string =>
    JSON.stringify({
      idx: 0,
      version: 1.1,
      passage: {
        text: 'T',
        questions: [
          {
            question: 'Q',
            idx: 0,
            answers: [
              { text: 'a', idx: 0, label: 1 },
              { text: 'b', idx: 1, label },
            ],
          },
        ],
      },
    });
  write('MultiRC', 'val', [rec(0), rec(0), rec(2)]);
  const e = await loadErr(tmp, 'MultiRC', 'val');
  assert.equal([e.line, e.field], [3, 'passage.questions[0].answers[1].label']);
  assert.match(e.message, 'expected 0 | 1, got 2');
});

test('semantic checks: WSC span index and WiC offsets', async () => {
  const wsc = JSON.stringify({
    text: 'He said it',
    idx: 0,
    label: true,
    target: { span1_index: 0, span1_text: 'He', span2_index: 3, span2_text: 'it' },
  });
  write('WSC', 'train', [wsc]);
  const e = await loadErr(tmp, 'WSC', 'train');
  assert.equal([e.line, e.field], [1, 'target.span2_index']);
  const wic = JSON.stringify({
    word: 'w',
    sentence1: 'a w',
    sentence2: 'w b',
    start1: 2,
    end1: 3,
    start2: 0,
    end2: 9,
    idx: 0,
    label: false,
    version: 1.1,
  });
  write('WiC', 'train', [wic]);
  assert.is((await loadErr(tmp, 'WiC', 'train')).field, 'end2');
});

test('skipMalformed counts and reports the bad lines', async () => {
  const file = write('RTE', 'val', [rte('entailment'), 'not json', rte('entailment'), rte(7), rte('not_entailment')]);
  const ds = await load(tmp, 'RTE', 'val', true);
  assert.is(ds.examples.length, 3);
  assert.equal(
    ds.examples.map((e) => e.line),
    [1, 3, 5],
  );
  assert.equal(
    ds.skipped.map((s) => [s.file, s.line, s.field]),
    [
      [file, 2, undefined],
      [file, 4, 'label'],
    ],
  );
});

test('CRLF, a BOM and blank lines are tolerated; line numbers stay physical', () => {
  const text = '\uFEFF' + rte('entailment') + '\r\n\r\n' + rte('not_entailment') + '\r\n';
  const r = parseTask('RTE', 'train', text, 'mem.jsonl');
  if (r._tag === 'Left') throw new Error(formatDataError(r.left));
  assert.equal(
    r.right.examples.map((e) => [e.line, e.label]),
    [
      [1, 0],
      [3, 1],
    ],
  );
});

test('a missing file is an io error naming the path', async () => {
  const e = await loadErr(join(tmp, 'nowhere'), 'CB', 'val');
  assert.is(e.kind, 'io');
  assert.is(e.file, join(tmp, 'nowhere', 'CB', 'val.jsonl'));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
