import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { tokenizerFromJson } from '../../models/bert/tokenizer/tokenizer.ts';
import { expectHandled, fcParams, NUM_RUNS } from './fuzz-support.ts';

const FILE = 'fuzz/tokenizer.json';
const FIX = new URL('../../fixtures/hf-reference/', import.meta.url);
const load = (name: string) => ({
  json: JSON.parse(readFileSync(new URL(`${name}/tokenizer.json`, FIX), 'utf8')) as Record<string, unknown>,
  config: JSON.parse(readFileSync(new URL(`${name}/tokenizer_config.json`, FIX), 'utf8')) as Record<string, unknown>,
});
const bert = load('bert-tiny');
const roberta = load('roberta-tiny');

test('garbage tokenizer.json gives a clear error, never a crash', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 1 }), (json, cfg) => {
      expectHandled(() => tokenizerFromJson(json, cfg, FILE), FILE);
    }),
    fcParams,
  );
});

test('one corrupted component of a real tokenizer.json', () => {
  const paths: readonly (readonly string[])[] = [
    ['model'],
    ['model', 'type'],
    ['model', 'vocab'],
    ['model', 'merges'],
    ['model', 'unk_token'],
    ['added_tokens'],
    ['normalizer'],
    ['normalizer', 'type'],
    ['pre_tokenizer'],
    ['post_processor'],
    ['post_processor', 'type'],
    ['post_processor', 'single'],
    ['post_processor', 'special_tokens'],
    ['post_processor', 'sep'],
    ['decoder'],
  ];
  fc.assert(
    fc.property(fc.boolean(), fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 2 }), (useBert, path, value) => {
      const base = useBert ? bert : roberta;
      const json = structuredClone(base.json);
      let node: Record<string, unknown> = json;
      for (const key of path.slice(0, -1)) {
        const next = node[key];
        if (typeof next !== 'object' || next === null || Array.isArray(next)) return;
        node = next as Record<string, unknown>;
      }
      node[path[path.length - 1]!] = value;
      const r = expectHandled(() => tokenizerFromJson(json, base.config, FILE), FILE, 5000);
      if (E.isRight(r)) {
        // Whatever was accepted must encode without throwing.
        const e = r.right.encode('Hello, world! Café 你好', 'second part');
        assert.is(e.inputIds.length, e.tokens.length);
      }
    }),
    { ...fcParams, numRuns: Math.ceil(NUM_RUNS / 2) },
  );
});

test('valid tokenizers: any text encodes to in-range ids, truncation bounds the length', () => {
  const toks = [bert, roberta].map((b) => {
    const r = tokenizerFromJson(b.json, b.config, FILE);
    if (E.isLeft(r)) throw new Error(r.left.message);
    return r.right;
  });
  fc.assert(
    fc.property(
      fc.constantFrom(0, 1),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      fc.integer({ min: 4, max: 30 }),
      (which, text, pair, maxLength) => {
        const tok = toks[which]!;
        const e = tok.encode(text, pair, { maxLength });
        assert.ok(e.inputIds.length <= maxLength);
        assert.ok(e.inputIds.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize));
        assert.is(e.inputIds[0], tok.clsId);
        assert.is(e.inputIds[e.inputIds.length - 1], tok.sepId);
        const full = tok.encode(text, pair);
        if (full.inputIds.length <= maxLength) assert.equal(e.inputIds, full.inputIds);
        tok.decode(e.inputIds, { skipSpecialTokens: true });
      },
    ),
    fcParams,
  );
});

test.run();
