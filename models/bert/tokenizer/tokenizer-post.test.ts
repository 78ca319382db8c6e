import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addedTokenCount, parsePostProcessor, truncatedLengths } from './tokenizer-post.ts';
import {
  bertTokenizerJson,
  parseMerges,
  parseVocabTxt,
  resolveSpecials,
  robertaTokenizerJson,
} from './tokenizer-classic.ts';

test('truncatedLengths: the Rust truncate_encodings test table (max_length 7)', () => {
  const [empty, short, medium, long] = [0, 2, 4, 8];
  const table: Array<[number, number, number, number]> = [
    [empty, empty, 0, 0],
    [empty, short, 0, 2],
    [empty, medium, 0, 4],
    [empty, long, 0, 7],
    [short, empty, 2, 0],
    [short, short, 2, 2],
    [short, medium, 2, 4],
    [short, long, 2, 5],
    [medium, empty, 4, 0],
    [medium, short, 4, 2],
    [medium, medium, 3, 4],
    [medium, long, 3, 4],
    [long, empty, 7, 0],
    [long, short, 5, 2],
    [long, medium, 4, 3],
    [long, long, 3, 4],
  ];
  for (const [a, b, ea, eb] of table) assert.equal(truncatedLengths(a, b, 7, 'longest_first'), [ea, eb], `${a},${b}`);
  for (const [a, b] of [
    [medium, medium],
    [long, long],
  ] as const)
    assert.equal(truncatedLengths(a, b, 0, 'longest_first'), [0, 0]);
  assert.equal(truncatedLengths(10, undefined, 7, 'longest_first'), [7, 0]);
  assert.equal(truncatedLengths(10, 3, 7, 'only_first'), [4, 3]);
  assert.equal(truncatedLengths(3, 10, 7, 'only_second'), [3, 4]);
  assert.throws(() => truncatedLengths(3, 10, 7, 'only_first'), /only_first/);
  assert.throws(() => truncatedLengths(10, undefined, 7, 'only_second'), /needs a second sequence/);
});

test('parsePostProcessor: Bert, Roberta, Template, Sequence, null', () => {
  const bert = parsePostProcessor({ type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] });
  assert.equal([addedTokenCount(bert, false), addedTokenCount(bert, true)], [2, 3]);
  assert.equal(
    bert.pair.map((p) => p.typeId),
    [0, 0, 0, 1, 1],
  );
  const rob = parsePostProcessor({ type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0] });
  assert.equal([addedTokenCount(rob, false), addedTokenCount(rob, true)], [2, 4]);
  assert.ok(rob.pair.every((p) => p.typeId === 0));
  const seq = parsePostProcessor({
    type: 'Sequence',
    processors: [{ type: 'ByteLevel' }, { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0] }],
  });
  assert.equal(seq, rob);
  assert.is(addedTokenCount(parsePostProcessor(null), true), 0);
  assert.throws(
    () =>
      parsePostProcessor({
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: 'X', type_id: 0 } }],
        pair: [],
        special_tokens: {},
      }),
    /"X" is not in post_processor\.special_tokens/,
  );
  assert.throws(
    () => parsePostProcessor({ type: 'BertProcessing', sep: ['[SEP]'], cls: ['[CLS]', 1] }),
    /post_processor\.sep must be \[token, id\]/,
  );
});

test('classic files: vocab.txt lines, merges.txt, specials, added_tokens_decoder', () => {
  assert.equal(
    [...parseVocabTxt('[PAD]\n[UNK]\na\n')],
    [
      ['[PAD]', 0],
      ['[UNK]', 1],
      ['a', 2],
    ],
  );
  assert.equal(
    [...parseVocabTxt('a\nb\na')],
    [
      ['a', 2],
      ['b', 1],
    ],
  );
  assert.equal(parseMerges('#version: 0.2\ni n\r\nĠ t\n\n'), [
    ['i', 'n'],
    ['Ġ', 't'],
  ]);
  assert.throws(() => parseMerges('a\n'), /merges\.txt line 1/);
  assert.equal(
    resolveSpecials('bert', { cls_token: { content: '<C>', __type: 'AddedToken' } }, { sep_token: '<S>' }).cls,
    '<C>',
  );
  assert.equal(resolveSpecials('bert', {}, { sep_token: '<S>' }).sep, '<S>');
  assert.equal(resolveSpecials('roberta').mask, '<mask>');
  const names = resolveSpecials('bert');
  const vocab = '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n';
  const j = bertTokenizerJson(vocab, { do_lower_case: false, strip_accents: true }, names);
  assert.equal(j['normalizer'], {
    type: 'BertNormalizer',
    clean_text: true,
    handle_chinese_chars: true,
    strip_accents: true,
    lowercase: false,
  });
  assert.is((j['added_tokens'] as unknown[]).length, 5);
  const withDecoder = bertTokenizerJson(
    vocab,
    { added_tokens_decoder: { 5: { content: 'a', special: false, lstrip: true } } },
    names,
  );
  assert.equal(withDecoder['added_tokens'], [
    { id: 5, content: 'a', single_word: false, lstrip: true, rstrip: false, normalized: false, special: false },
  ]);
  assert.throws(() => bertTokenizerJson('a\n', {}, names), /special token "\[CLS\]" is not in vocab\.txt/);
  const r = robertaTokenizerJson(
    { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3, '<mask>': 4 },
    '',
    {},
    resolveSpecials('roberta'),
  );
  const mask = (r['added_tokens'] as { content: string; lstrip: boolean }[]).find((t) => t.content === '<mask>')!;
  assert.is(mask.lstrip, true); // RobertaTokenizer's mask token strips the space before it
  assert.throws(() => robertaTokenizerJson({ a: 'x' }, '', {}, resolveSpecials('roberta')), /vocab\.json must map/);
});

test.run();
