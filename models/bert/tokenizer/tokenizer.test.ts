import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { loadTokenizer, tokenizerFromJson } from './tokenizer.ts';
import type { PgTokenizer } from './tokenizer.ts';

const FIX = fileURLToPath(new URL('../../../fixtures/hf-reference/', import.meta.url));

interface Case {
  readonly text: string;
  readonly text_pair?: string;
  readonly truncation?: boolean;
  readonly max_length?: number;
  readonly input_ids: number[];
  readonly attention_mask: number[];
  readonly token_type_ids?: number[];
  readonly tokens?: string[];
}
const cases = (name: string): Case[] =>
  (JSON.parse(readFileSync(join(FIX, name, 'reference.json'), 'utf8')) as { tokenization: Case[] }).tokenization;

async function load(dir: string): Promise<PgTokenizer> {
  const r = await loadTokenizer(dir)();
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}
/** The fixture's classic files only (no tokenizer.json), in a temp folder. */
async function classic(name: string, files: string[], fn: (t: PgTokenizer) => void | Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-tok-'));
  try {
    for (const f of files) copyFileSync(join(FIX, name, f), join(dir, f));
    await fn(await load(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkAll(tok: PgTokenizer, name: string, withTypes: boolean): void {
  const all = cases(name);
  assert.is(all.length, 18);
  for (const c of all) {
    const opts = c.truncation ? { truncation: 'longest_first' as const, maxLength: c.max_length! } : {};
    const e = tok.encode(c.text, c.text_pair, opts);
    const what = `${name} ${JSON.stringify(c.text.slice(0, 40))}`;
    assert.equal(e.inputIds, c.input_ids, what);
    assert.equal(e.attentionMask, c.attention_mask, what);
    if (withTypes && c.token_type_ids) assert.equal(e.tokenTypeIds, c.token_type_ids, what);
    else
      assert.ok(
        e.tokenTypeIds.every((t) => t === 0),
        what,
      ); // RoBERTa: one token type
    if (c.tokens) assert.equal(e.tokens, c.tokens, what);
  }
}

test('bert-tiny tokenizer.json reproduces every reference case', async () => {
  const tok = await load(join(FIX, 'bert-tiny'));
  assert.is(tok.source, 'tokenizer.json');
  checkAll(tok, 'bert-tiny', true);
});

test('bert-tiny classic files (vocab.txt + tokenizer_config.json) reproduce every case', async () => {
  await classic('bert-tiny', ['vocab.txt', 'tokenizer_config.json'], (tok) => {
    assert.is(tok.source, 'classic');
    checkAll(tok, 'bert-tiny', true);
  });
  await classic('bert-tiny', ['vocab.txt'], (tok) => checkAll(tok, 'bert-tiny', true)); // defaults alone
});

test('roberta-tiny tokenizer.json reproduces every reference case', async () => {
  const tok = await load(join(FIX, 'roberta-tiny'));
  checkAll(tok, 'roberta-tiny', false);
});

test('roberta-tiny classic files (vocab.json + merges.txt) reproduce every case', async () => {
  await classic('roberta-tiny', ['vocab.json', 'merges.txt', 'tokenizer_config.json'], (tok) => {
    assert.is(tok.source, 'classic');
    checkAll(tok, 'roberta-tiny', false);
  });
});

test('accessors, special tokens, decode', async () => {
  const bert = await load(join(FIX, 'bert-tiny'));
  assert.equal([bert.clsId, bert.sepId, bert.padId, bert.unkId, bert.maskId], [2, 3, 0, 1, 4]);
  assert.equal([bert.maskToken, bert.vocabSize, bert.modelMaxLength, bert.family], ['[MASK]', 800, 60, 'bert']);
  assert.is(bert.tokenToId('[MASK]'), 4);
  assert.is(bert.idToToken(672), 'hel');
  assert.equal([bert.numSpecialTokens(false), bert.numSpecialTokens(true)], [2, 3]);
  const e = bert.encode('Hello, world!');
  assert.equal(e.specialTokensMask, [1, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.is(bert.decode(e.inputIds, { skipSpecialTokens: true }), 'hello, world!');
  assert.is(bert.decode(Int32Array.from(e.inputIds)), '[CLS] hello, world! [SEP]');
  assert.is(bert.decode([]), '');
  const m = bert.encode('the [MASK] is blue');
  assert.ok(m.inputIds.includes(bert.maskId));
  const rob = await load(join(FIX, 'roberta-tiny'));
  assert.equal([rob.clsId, rob.padId, rob.sepId, rob.unkId, rob.maskId], [0, 1, 2, 3, 4]);
  assert.equal([rob.numSpecialTokens(false), rob.numSpecialTokens(true)], [2, 4]);
  assert.is(rob.decode(rob.encode('Hello, world!').inputIds, { skipSpecialTokens: true }), 'Hello, world!');
  assert.ok(rob.encode('a <mask> b').inputIds.includes(rob.maskId));
});

test('truncation keeps special tokens; strategies match the Rust truncate_encodings', async () => {
  const bert = await load(join(FIX, 'bert-tiny'));
  const long = 'the quick brown fox jumps over the lazy dog '.repeat(5);
  const e = bert.encode(long, undefined, { maxLength: 10 });
  assert.is(e.inputIds.length, 10);
  assert.equal([e.inputIds[0], e.inputIds[9]], [bert.clsId, bert.sepId]);
  const full = bert.encode(long, 'premise here');
  const p = bert.encode(long, 'premise here', { maxLength: 16, truncation: 'longest_first' });
  assert.is(p.inputIds.length, 16);
  const nb = bert.tokenize('premise here').length;
  assert.equal(p.inputIds.slice(-nb - 1), full.inputIds.slice(-nb - 1)); // B is short: kept whole
  assert.equal(p.tokenTypeIds.filter((t) => t === 1).length, nb + 1);
  const only = bert.encode('premise here', long, { maxLength: 12, truncation: 'only_second' });
  assert.is(only.inputIds.length, 12);
  assert.throws(() => bert.encode(long, 'x', { maxLength: 5, truncation: 'only_second' }), /only_second/);
  assert.throws(() => bert.encode('x', undefined, { maxLength: 1 }), /cannot hold the 2 special tokens/);
  assert.equal(bert.encode(long, undefined, { truncation: true }).inputIds.length, 60); // model_max_length
  assert.ok(bert.encode(long, undefined, { maxLength: 10, truncation: false }).inputIds.length > 10);
  const plain = bert.encode('hello', 'world', { addSpecialTokens: false });
  assert.equal(plain.tokenTypeIds, [...bert.tokenize('hello').map(() => 0), ...bert.tokenize('world').map(() => 1)]);
  assert.equal(plain.inputIds.length, 5);
});

test('encodeBatch pads right with the pad id, zero mask and zero types', async () => {
  for (const name of ['bert-tiny', 'roberta-tiny']) {
    const tok = await load(join(FIX, name));
    // The batch of reference.safetensors' forward.* tensors.
    const texts = [
      'The quick brown fox jumps over the lazy dog.',
      'Hello, world!',
      'Is the sky blue? Yes it is, mostly.',
    ];
    const b = tok.encodeBatch(texts);
    assert.is(b.batchSize, 3);
    assert.is(b.seqLen, Math.max(...b.lengths));
    const one = tok.encode(texts[1]!);
    const row = b.inputIds.subarray(b.seqLen, 2 * b.seqLen);
    assert.equal(Array.from(row.subarray(0, one.inputIds.length)), one.inputIds);
    assert.ok(row.subarray(one.inputIds.length).every((x) => x === tok.padId));
    assert.is(
      b.attentionMask.subarray(b.seqLen, 2 * b.seqLen).reduce((a, x) => a + x, 0),
      one.inputIds.length,
    );
    const fixed = tok.encodeBatch([texts[0]!, [texts[1]!, texts[2]!]], { padding: { maxLength: 8 } });
    assert.is(fixed.seqLen, 8);
    assert.equal(fixed.lengths, [8, 8]);
    assert.throws(
      () => tok.encodeBatch([texts[0]!], { padding: { maxLength: 8 }, truncation: false }),
      /more than the padding length 8/,
    );
  }
});

test('batch matches reference.safetensors forward.input_ids', async () => {
  const { parseSafetensorsOrThrow } = await import('../io/safetensors.ts');
  for (const name of ['bert-tiny', 'roberta-tiny']) {
    const ref = parseSafetensorsOrThrow(new Uint8Array(readFileSync(join(FIX, name, 'reference.safetensors'))), 'ref', {
      select: (n) =>
        n.startsWith('forward.') && !n.includes('state') && !n.includes('logits') && !n.includes('embeddings'),
    });
    const get = (n: string) => ref.tensors.find((t) => t.name === n)!;
    const tok = await load(join(FIX, name));
    const b = tok.encodeBatch([
      'The quick brown fox jumps over the lazy dog.',
      'Hello, world!',
      'Is the sky blue? Yes it is, mostly.',
    ]);
    assert.equal([b.batchSize, b.seqLen], get('forward.input_ids').shape);
    assert.equal(Array.from(b.inputIds), Array.from(get('forward.input_ids').data));
    assert.equal(Array.from(b.attentionMask), Array.from(get('forward.attention_mask').data));
    if (name === 'bert-tiny') assert.equal(Array.from(b.tokenTypeIds), Array.from(get('forward.token_type_ids').data));
  }
});

test('unusable tokenizer files give errors naming the file', async () => {
  const err = (r: E.Either<{ message: string }, unknown>) => {
    assert.ok(E.isLeft(r));
    return (r as E.Left<{ message: string }>).left.message;
  };
  const good = JSON.parse(readFileSync(join(FIX, 'bert-tiny/tokenizer.json'), 'utf8')) as Record<string, unknown>;
  assert.match(err(tokenizerFromJson([1], {}, 't.json')), /^t\.json: expected a JSON object/);
  assert.match(
    err(tokenizerFromJson({ ...good, model: { type: 'Unigram', vocab: [] } }, {}, 't.json')),
    /"model\.type": "Unigram" is not supported/,
  );
  assert.match(
    err(tokenizerFromJson({ ...good, model: { ...(good['model'] as object), vocab: { a: -1 } } }, {}, 't.json')),
    /token "a" has id -1/,
  );
  assert.match(
    err(tokenizerFromJson({ ...good, model: { ...(good['model'] as object), vocab: { a: 4e9 } } }, {}, 't.json')),
    /too sparse/,
  );
  assert.match(
    err(tokenizerFromJson({ ...good, post_processor: { type: 'Foo' } }, {}, 't.json')),
    /post_processor type "Foo" is not supported/,
  );
  assert.match(err(tokenizerFromJson({ ...good, added_tokens: [{ id: 'x' }] }, {}, 't.json')), /added_tokens\[0\]/);
  assert.match(
    err(tokenizerFromJson(good, { mask_token: '<nope>' }, 't.json')),
    /special tokens not in the vocabulary: mask "<nope>"/,
  );
  const dir = mkdtempSync(join(tmpdir(), 'pg-tok-'));
  try {
    assert.match(err(await loadTokenizer(dir)()), /no tokenizer\.json, vocab\.txt, or vocab\.json \+ merges\.txt/);
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
    assert.match(err(await loadTokenizer(dir)()), /tokenizer\.json: not valid JSON/);
    rmSync(join(dir, 'tokenizer.json'));
    writeFileSync(join(dir, 'vocab.json'), '{"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4, "a": 5}');
    writeFileSync(join(dir, 'merges.txt'), '#version: 0.2\na b c\n');
    const m = err(await loadTokenizer(dir)());
    assert.match(m, /vocab\.json: cannot build .*merges\.txt line 2 is not "left right"/, m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
