import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { configToJson, decodeBertConfig, parseBertConfig, readBertConfig, serializeBertConfig } from './config.ts';
import type { BertConfig } from './config.ts';

const FIX = new URL('../../fixtures/hf-reference/', import.meta.url);
const fixtureJson = (p: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(p, FIX), 'utf8')) as Record<string, unknown>;

const ok = (r: E.Either<{ message: string }, BertConfig>): BertConfig => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const err = (r: E.Either<{ message: string }, unknown>): string => {
  assert.ok(E.isLeft(r), 'expected an error');
  return (r as E.Left<{ message: string }>).left.message;
};

const MIN = {
  model_type: 'bert',
  vocab_size: 10,
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 16,
};

test('bert-tiny and roberta-tiny config.json', async () => {
  const b = await readBertConfig(fileURLToPath(new URL('bert-tiny/config.json', FIX)))();
  const bc = ok(b);
  assert.is(bc.modelType, 'bert');
  assert.equal(
    [bc.vocabSize, bc.hiddenSize, bc.numHiddenLayers, bc.numAttentionHeads, bc.intermediateSize],
    [800, 32, 2, 4, 64],
  );
  assert.equal([bc.maxPositionEmbeddings, bc.typeVocabSize, bc.layerNormEps, bc.padTokenId], [64, 2, 1e-12, 0]);
  assert.equal(bc.architectures, ['BertForMaskedLM']);
  assert.is(bc.hiddenDropoutProb, 0);
  assert.is(bc.extra['transformers_version'], '5.17.0');
  const rc = ok(decodeBertConfig(fixtureJson('roberta-tiny/config.json'), 'roberta-tiny/config.json'));
  assert.is(rc.modelType, 'roberta');
  assert.equal(
    [rc.maxPositionEmbeddings, rc.typeVocabSize, rc.layerNormEps, rc.padTokenId, rc.bosTokenId, rc.eosTokenId],
    [66, 1, 1e-5, 1, 0, 2],
  );
});

test('defaults follow transformers BertConfig / RobertaConfig', () => {
  const c = ok(decodeBertConfig(MIN, 'c.json'));
  assert.equal(
    [c.hiddenAct, c.maxPositionEmbeddings, c.typeVocabSize, c.layerNormEps, c.padTokenId],
    ['gelu', 512, 2, 1e-12, 0],
  );
  assert.equal(
    [c.hiddenDropoutProb, c.attentionProbsDropoutProb, c.initializerRange, c.classifierDropout],
    [0.1, 0.1, 0.02, null],
  );
  assert.equal(
    [c.bosTokenId, c.eosTokenId, c.tieWordEmbeddings, c.positionEmbeddingType],
    [null, null, true, 'absolute'],
  );
  const r = ok(decodeBertConfig({ ...MIN, model_type: 'roberta' }, 'c.json'));
  assert.equal([r.padTokenId, r.bosTokenId, r.eosTokenId], [1, 0, 2]);
});

test('configToJson round-trips and looks like transformers output', () => {
  const src = fixtureJson('bert-tiny/config.json');
  const c = ok(decodeBertConfig(src, 'bert-tiny/config.json'));
  const json = configToJson(c);
  const keys = Object.keys(json);
  assert.equal(keys, [...keys].sort());
  for (const k of [
    'architectures',
    'model_type',
    'vocab_size',
    'hidden_size',
    'layer_norm_eps',
    'pad_token_id',
    'position_embedding_type',
    'hidden_act',
  ]) {
    assert.ok(k in json, k);
  }
  for (const [k, v] of Object.entries(src)) assert.equal(json[k], v, k); // nothing lost or changed
  const again = ok(parseBertConfig(serializeBertConfig(c), 'saved.json'));
  assert.equal(again, c);
  assert.ok(serializeBertConfig(c).endsWith('}\n'));
  assert.equal(configToJson(ok(decodeBertConfig({ ...MIN, model_type: 'roberta' }, 'x')))['architectures'], [
    'RobertaModel',
  ]);
});

test('missing and mistyped fields are all named', () => {
  const { hidden_size: _h, ...noHidden } = MIN;
  assert.match(
    err(decodeBertConfig(noHidden, 'cfg/config.json')),
    /^cfg\/config\.json: field "hidden_size": expected positive integer, got nothing \(field missing\)/,
  );
  const many = err(
    decodeBertConfig(
      { ...MIN, vocab_size: '10', num_hidden_layers: 0, layer_norm_eps: -1, architectures: [3] },
      'c.json',
    ),
  );
  assert.match(many, /field "vocab_size": expected positive integer, got "10"/);
  assert.match(many, /field "num_hidden_layers": expected positive integer, got 0/);
  assert.match(many, /field "layer_norm_eps": expected positive number, got -1/);
  assert.match(many, /field "architectures"/);
  assert.match(
    err(decodeBertConfig({ ...MIN, hidden_dropout_prob: 2 }, 'c.json')),
    /field "hidden_dropout_prob": expected number in \[0, 1\], got 2/,
  );
  assert.match(err(decodeBertConfig([1], 'c.json')), /c\.json: expected a JSON object/);
  assert.match(err(decodeBertConfig(null, 'c.json')), /expected a JSON object, got null/);
  assert.match(err(parseBertConfig('{"model_type": ', 'c.json')), /c\.json: not valid JSON/);
});

test('unsupported features are refused with the field named', () => {
  assert.match(
    err(decodeBertConfig({ ...MIN, position_embedding_type: 'relative_key' }, 'c.json')),
    /field "position_embedding_type": "relative_key" is not supported/,
  );
  assert.match(
    err(decodeBertConfig({ ...MIN, model_type: 'distilbert' }, 'c.json')),
    /field "model_type": "distilbert" is not supported/,
  );
  assert.match(
    err(decodeBertConfig({ ...MIN, hidden_act: 'swish' }, 'c.json')),
    /field "hidden_act": "swish" is not supported/,
  );
  assert.match(err(decodeBertConfig({ ...MIN, is_decoder: true }, 'c.json')), /is_decoder/);
  assert.match(err(decodeBertConfig({ ...MIN, add_cross_attention: true }, 'c.json')), /add_cross_attention/);
  assert.match(
    err(decodeBertConfig({ ...MIN, num_attention_heads: 3 }, 'c.json')),
    /field "hidden_size": 8 is not a multiple of num_attention_heads 3/,
  );
  assert.match(
    err(decodeBertConfig({ ...MIN, pad_token_id: 10 }, 'c.json')),
    /field "pad_token_id": 10 is outside vocab_size 10/,
  );
  ok(decodeBertConfig({ ...MIN, hidden_act: 'gelu_new', position_embedding_type: null, pad_token_id: null }, 'c.json'));
});

test('hostile keys do not pollute, unreadable files name the path', async () => {
  const c = ok(
    decodeBertConfig(JSON.parse(`{"__proto__": {"polluted": 1}, ${JSON.stringify(MIN).slice(1)}`), 'c.json'),
  );
  assert.is((c.extra as { polluted?: unknown }).polluted, undefined);
  assert.is(({} as { polluted?: unknown }).polluted, undefined);
  const r = await readBertConfig('/nonexistent/dir/config.json')();
  assert.match(err(r), /^\/nonexistent\/dir\/config\.json: cannot read/);
});

test.run();
