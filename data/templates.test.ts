import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDataError, LABELS, loadTask, SPLITS, TASKS } from './fewglue.ts';
import type { Dataset, RTEExample, Split, TaskName, WSCExample } from './fewglue.ts';
import {
  classificationView,
  countMask,
  fillMask,
  markToken,
  MASK,
  patternView,
  renderPattern,
  TEMPLATES,
  verbalizerFor,
  verbalizerMatchesLabels,
} from './templates.ts';

const ROOT = new URL('../datasets/fewglue/', import.meta.url);

async function load<T extends TaskName>(task: T, split: Split): Promise<Dataset<T>> {
  const r = await loadTask(ROOT, task, split)();
  if (r._tag === 'Left') throw new Error(formatDataError(r.left));
  return r.right;
}

test('every example of every split: one {mask} in the pattern, none in the classifier view', async () => {
  for (const task of TASKS) {
    for (const split of SPLITS) {
      for (const e of (await load(task, split)).examples) {
        const p = patternView(e);
        const c = classificationView(e);
        if (countMask(p) !== 1) assert.unreachable(`${task}/${split} line ${e.line}: ${countMask(p)} masks`);
        if (countMask(c) !== 0) assert.unreachable(`${task}/${split} line ${e.line}: mask in classifier view`);
        if (c.text.trim() === '' || p.text.trim() === '')
          assert.unreachable(`${task}/${split} line ${e.line}: empty text`);
      }
    }
  }
});

test('one verbalizer word per class, as in PET', () => {
  for (const task of TASKS) {
    assert.ok(verbalizerMatchesLabels(task), task);
    assert.ok(TEMPLATES[task].source.length > 0);
  }
  assert.equal(verbalizerFor('CB'), ['Yes', 'No', 'Maybe']);
  assert.equal(LABELS.CB, ['entailment', 'contradiction', 'neutral']);
  assert.equal(verbalizerFor('RTE'), ['Yes', 'No']);
  assert.equal(verbalizerFor('BoolQ'), ['No', 'Yes']);
  assert.equal(verbalizerFor('WiC'), ['No', 'Yes']);
});

const rte: RTEExample = {
  task: 'RTE',
  idx: 0,
  line: 1,
  label: 0,
  premise: 'Cats sleep a lot.',
  hypothesis: 'Cats are lazy.',
};

test('RTE/CB pattern is PET\'s "{hypothesis}" ? {mask}, "{premise}" in two segments', () => {
  assert.equal(patternView(rte), { text: '"Cats are lazy" ?', textPair: `${MASK}, "Cats sleep a lot."` });
  assert.equal(classificationView(rte), { text: 'Cats sleep a lot.', textPair: 'Cats are lazy.' });
  assert.equal(fillMask(patternView(rte), '<mask>'), {
    text: '"Cats are lazy" ?',
    textPair: '<mask>, "Cats sleep a lot."',
  });
  const cb = { ...rte, task: 'CB' as const };
  assert.equal(patternView(cb), patternView(rte));
});

test('BoolQ, MultiRC, WiC and COPA renderings', () => {
  assert.is(
    patternView({
      task: 'BoolQ',
      idx: 0,
      line: 1,
      label: 1,
      passage: 'Sky -- The sky is blue',
      question: 'is the sky blue',
    }).text,
    `Sky -- The sky is blue. Question: is the sky blue? Answer: ${MASK}.`,
  );
  assert.is(
    patternView({
      task: 'MultiRC',
      idx: 0,
      line: 1,
      label: 1,
      passageIdx: 0,
      questionIdx: 0,
      group: 0,
      passage: 'P',
      question: 'Q',
      answer: 'A',
    }).text,
    `P. Question: Q? Is it A? ${MASK}.`,
  );
  assert.is(
    patternView({
      task: 'WiC',
      idx: 0,
      line: 1,
      label: 1,
      word: 'bank',
      sentence1: 'S1.',
      sentence2: 'S2.',
      start1: 0,
      end1: 1,
      start2: 0,
      end2: 1,
    }).text,
    `"S1." / "S2." Similar sense of "bank"? ${MASK}.`,
  );
  const copa = {
    task: 'COPA',
    idx: 0,
    line: 1,
    label: 1,
    premise: 'The man slid the razor across his chin.',
    choice1: 'His stubble grew.',
    choice2: 'His stubble disappeared.',
    question: 'effect',
  } as const;
  assert.equal(patternView(copa), {
    text: 'Option one: His stubble grew. Option two: His stubble disappeared.',
    textPair: `The man slid the razor across his chin so option ${MASK}.`,
  });
  assert.is(classificationView({ ...copa, question: 'cause' }).text, 'The man slid the razor across his chin because');
  assert.equal(verbalizerFor('COPA'), ['one', 'two']);
});

test('WSC marks the pronoun token and asks about the candidate', () => {
  const wsc: WSCExample = {
    task: 'WSC',
    idx: 0,
    line: 1,
    label: 1,
    text: 'Mark told Pete many lies about himself .',
    span1: { text: 'Mark', index: 0 },
    span2: { text: 'himself', index: 6 },
  };
  assert.is(
    patternView(wsc).text,
    `Mark told Pete many lies about *himself* . Question: Does the pronoun "*himself*" refer to "Mark"? Answer: ${MASK}.`,
  );
  assert.equal(classificationView(wsc), {
    text: 'Mark told Pete many lies about *himself* .',
    textPair: 'Does "himself" refer to "Mark"?',
  });
  assert.is(markToken('a  b c', 1), 'a *b* c');
  assert.is(markToken('a b', 5), 'a b');
});

test('a literal {mask} in the data cannot add a second placeholder', () => {
  const e = { ...rte, premise: `Type ${MASK} here.` };
  assert.is(countMask(patternView(e)), 1);
  assert.is(countMask(classificationView(e)), 0);
});

test('renderPattern fills fields, keeps the mask and rejects bad patterns', () => {
  assert.is(renderPattern('{text} It was {mask}.', { text: 'Great film' }), `Great film It was ${MASK}.`);
  assert.throws(() => renderPattern('{text} It was.', { text: 'x' }), /exactly one/);
  assert.throws(() => renderPattern('{mask} {mask}', {}), /exactly one/);
  assert.throws(() => renderPattern('{other} {mask}', { text: 'x' }), /\{other\}/);
});

test.run();
