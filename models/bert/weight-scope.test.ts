import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuBackend } from '../../core/backend/cpu/index.ts';
import { prngKey } from '../../core/index.ts';
import type { RawTensor } from './io/raw-tensor.ts';
import { LoadFailure } from './load-error.ts';
import { BertModel } from './model.ts';
import { bertConfigFor, randomWeightSource } from './random-weights.ts';
import { requiredBertWeights } from './weight-spec.ts';
import { Weights } from './weights.ts';

const bk = cpuBackend();
const cfg = bertConfigFor({
  vocabSize: 11,
  hiddenSize: 4,
  numHiddenLayers: 2,
  numAttentionHeads: 2,
  intermediateSize: 8,
});
const all = (): Map<string, RawTensor> => {
  const src = randomWeightSource(cfg, prngKey(1));
  const spec = requiredBertWeights(cfg, { pooler: true, mlmHead: true }).filter(([, , o]) => !o?.optional);
  return new Map(spec.map(([n, s]) => [n, src.get(n, s)]));
};

test('BertModel.load reports every missing and misshapen tensor in one error naming the file', () => {
  const tensors = all();
  tensors.delete('encoder.layer.0.attention.self.key.weight');
  tensors.delete('encoder.layer.1.output.LayerNorm.bias');
  const q = tensors.get('encoder.layer.1.attention.self.query.weight')!;
  tensors.set(q.name, { ...q, shape: [4, 2], data: q.data.slice(0, 8) });
  try {
    BertModel.load(new Weights(tensors, 'dir/model.safetensors'), cfg, bk, 'f32');
    assert.unreachable('loaded a checkpoint with missing tensors');
  } catch (e) {
    assert.ok(e instanceof LoadFailure, String(e));
    assert.is(
      e.message,
      'dir/model.safetensors: 2 missing: encoder.layer.0.attention.self.key.weight [4, 4], encoder.layer.1.output.LayerNorm.bias [4]. ' +
        '1 wrong: encoder.layer.1.attention.self.query.weight: want [4, 4], got [4, 2]',
    );
  }
});

test('the loaders ask for exactly the derived list: a model loads from it and nothing else', () => {
  const tensors = all();
  const asked: string[] = [];
  const src = new Weights(tensors, 'x');
  const m = BertModel.load(
    {
      has: (n) => src.has(n),
      get: (n, s) => (asked.push(n), src.get(n, s)),
      shapeOf: (n) => src.shapeOf(n),
    },
    cfg,
    bk,
    'f32',
  );
  assert.equal(asked, [...tensors.keys()]);
  assert.ok(m.pooler && m.mlmHead, 'pooler and MLM head loaded when present');
  assert.is(m.layers.length, 2);
  assert.is(m.encoder.layer[1]!.attention.self, m.layers[1]!.selfAttention);
  m.dispose();
});

test('an optional part is loaded only when present: no pooler, no MLM head', () => {
  const tensors = new Map([...all()].filter(([n]) => !n.startsWith('pooler.') && !n.startsWith('cls.')));
  const m = BertModel.load(new Weights(tensors, 'x'), cfg, bk, 'f32');
  assert.is(m.pooler, undefined);
  assert.is(m.mlmHead, undefined);
  m.dispose();
});

test.run();
