import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { decodeBertConfig } from './config.ts';
import { LoadFailure, orThrow } from './load-error.ts';
import type { RawTensor } from './io/raw-tensor.ts';
import { requireAll, unusedNames, Weights } from './weights.ts';
import { requiredBertWeights } from './weight-spec.ts';

const t = (name: string, shape: number[], dtype: 'f32' | 'i32' = 'f32'): RawTensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, dtype, shape, data: dtype === 'f32' ? new Float32Array(n) : new Int32Array(n) };
};
const mapOf = (ts: RawTensor[]) => new Map(ts.map((x) => [x.name, x]));
const cfg = orThrow(
  decodeBertConfig(
    {
      model_type: 'bert',
      vocab_size: 11,
      hidden_size: 4,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 8,
      max_position_embeddings: 9,
    },
    'config.json',
  ),
);

test('Weights.at / get / has / optional / names', () => {
  const w = new Weights(
    mapOf([t('encoder.layer.0.attention.self.query.weight', [4, 4]), t('pooler.dense.bias', [4])]),
    'ckpt/model.safetensors',
  );
  const layer = w.at('encoder').at('layer').at(0);
  assert.is(layer.prefix, 'encoder.layer.0.');
  assert.ok(layer.has('attention.self.query.weight'));
  assert.equal(layer.get('attention.self.query.weight', [4, 4]).shape, [4, 4]);
  assert.equal(layer.names(), ['attention.self.query.weight']);
  assert.is(w.optional('pooler.dense.weight', [4, 4]), undefined);
  assert.ok(w.optional('pooler.dense.bias', [4]));
  try {
    layer.get('attention.self.query.weight', [4, 8]);
    assert.unreachable();
  } catch (e) {
    assert.ok(e instanceof LoadFailure);
    assert.is(
      e.message,
      'ckpt/model.safetensors: tensor "encoder.layer.0.attention.self.query.weight": want shape [4, 8], got [4, 4]',
    );
  }
  assert.throws(
    () => layer.get('attention.self.key.weight', [4, 4]),
    /tensor "encoder\.layer\.0\.attention\.self\.key\.weight" \[4, 4\] is missing/,
  );
  assert.throws(() => w.optional('pooler.dense.bias', [5]), /want shape \[5\], got \[4\]/);
});

test('requiredBertWeights covers embeddings, every layer, pooler and MLM head', () => {
  const core = requiredBertWeights(cfg);
  assert.is(core.length, 5 + 2 * 16);
  const names = core.map(([n]) => n);
  assert.ok(names.includes('embeddings.position_embeddings.weight'));
  assert.ok(names.includes('encoder.layer.1.output.LayerNorm.bias'));
  assert.equal(core.find(([n]) => n === 'encoder.layer.1.intermediate.dense.weight')![1], [8, 4]);
  assert.equal(core.find(([n]) => n === 'encoder.layer.0.output.dense.weight')![1], [4, 8]);
  assert.equal(core.find(([n]) => n === 'embeddings.position_embeddings.weight')![1], [9, 4]);
  const full = requiredBertWeights(cfg, { pooler: true, mlmHead: true });
  assert.is(full.length, core.length + 2 + 7);
  assert.ok(full.some(([n, , o]) => n === 'cls.predictions.decoder.weight' && o?.optional === true));
  const rob = requiredBertWeights({ ...cfg, modelType: 'roberta' }, { mlmHead: true }).map(([n]) => n);
  assert.ok(rob.includes('lm_head.layer_norm.weight') && rob.includes('lm_head.bias'));
});

test('requireAll lists every missing tensor and every mismatch at once', () => {
  const spec = requiredBertWeights(cfg, { mlmHead: true });
  const present = spec
    .filter(([n, , o]) => !o?.optional && !n.startsWith('encoder.layer.1.'))
    .map(([n, s]) => t(n, [...s]));
  present[0] = t(present[0]!.name, [3, 4]);
  present[1] = t(present[1]!.name, [9, 4], 'i32');
  const r = requireAll(mapOf(present), spec, 'dir/model.safetensors');
  assert.ok(E.isLeft(r));
  if (E.isLeft(r)) {
    const m = r.left.message;
    assert.ok(
      m.startsWith('dir/model.safetensors: 16 missing: encoder.layer.1.attention.self.query.weight [4, 4], '),
      m,
    );
    assert.match(
      m,
      /2 wrong: embeddings\.word_embeddings\.weight: want \[11, 4\], got \[3, 4\]; embeddings\.position_embeddings\.weight: want float data, got i32/,
    );
    assert.not.match(m, /decoder/);
  }
  const ok = requireAll(mapOf(spec.map(([n, s]) => t(n, [...s]))), spec, 'x');
  assert.ok(E.isRight(ok));
  assert.equal(
    unusedNames(mapOf([t('embeddings.word_embeddings.weight', [11, 4]), t('cls.seq_relationship.bias', [2])]), spec),
    ['cls.seq_relationship.bias'],
  );
});

test.run();
