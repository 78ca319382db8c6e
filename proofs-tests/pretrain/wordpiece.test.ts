/**
 * The WordPiece trainer: deterministic, specials first, the whole alphabet (both forms) present,
 * merges learned from frequent words, and the result tokenizes through models/bert/tokenizer/tokenizer.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { tokenizerForVocab } from '../../pretrain/tokenizer-files.ts';
import { SPECIAL_TOKENS, trainWordPiece, vocabTxt, WordCounter } from '../../pretrain/wordpiece-trainer.ts';

const TEXT = [
  'The quick brown fox jumps over the lazy dog.',
  'Über café naïve façade — the foxes were quicker than the dogs!',
  'Jumping, jumped, jumps: the jumper jumps again; 42 dogs (and 7 foxes) watched.',
  'A lazy afternoon: the dog sleeps, the fox waits, and the river runs.',
];

function train(vocabSize = 120) {
  const wc = new WordCounter();
  for (let i = 0; i < 5; i++) for (const t of TEXT) wc.add(t);
  return { vocab: trainWordPiece(wc.counts, { vocabSize, minFrequency: 2 }), counts: wc.counts };
}

test('words come from the BERT normaliser and pre-tokenizer (lower case, accents stripped, punctuation split)', () => {
  const { counts } = train();
  for (const w of ['uber', 'cafe', 'naive', 'facade', '—', '!', ',', '42', '(', 'the'])
    assert.ok(counts.has(w), `missing word ${w}`);
  assert.not.ok(counts.has('The') || counts.has('Über') || counts.has('dog.'));
});

test('deterministic; specials first; every alphabet character present as initial and ## form', () => {
  const a = train().vocab,
    b = train().vocab;
  assert.equal(a, b);
  assert.equal(a.slice(0, 5), [...SPECIAL_TOKENS]);
  assert.is(new Set(a).size, a.length, 'duplicate tokens');
  assert.ok(a.length <= 120);
  const { counts } = train();
  for (const w of counts.keys()) {
    const chars = [...w];
    assert.ok(a.includes(chars[0]!), `initial ${chars[0]} missing`);
    for (const c of chars.slice(1)) assert.ok(a.includes(`##${c}`), `##${c} missing`);
  }
  // Frequent words are merged into whole tokens.
  for (const w of ['the', 'fox', 'jumps', 'dog']) assert.ok(a.includes(w), `no merge produced ${w}`);
});

test('the vocabulary tokenizes through the tokenizer module, round-tripping in-vocabulary text', () => {
  const { vocab } = train();
  const tok = tokenizerForVocab(vocabTxt(vocab), 128);
  if (E.isLeft(tok)) throw new Error(tok.left.detail);
  const t = tok.right;
  assert.is(t.vocabSize, vocab.length);
  assert.equal([t.padId, t.unkId, t.clsId, t.sepId, t.maskId], [0, 1, 2, 3, 4]);
  const enc = t.encode('The lazy fox jumps.');
  assert.is(enc.inputIds[0], 2);
  assert.is(enc.inputIds.at(-1), 3);
  assert.not.ok(enc.inputIds.includes(1), `unexpected [UNK] in ${enc.tokens.join(' ')}`);
  assert.is(t.decode(enc.inputIds, { skipSpecialTokens: true }), 'the lazy fox jumps.');
  assert.ok(t.tokenize('foxes').length >= 1);
});

test.run();
