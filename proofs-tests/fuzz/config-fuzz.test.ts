import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { decodeBertConfig, parseBertConfig, serializeBertConfig } from '../../models/bert/config.ts';
import { expectHandled, fcParams } from './fuzz-support.ts';

const FILE = 'fuzz/config.json';
const VALID: Record<string, unknown> = {
  architectures: ['BertForMaskedLM'],
  model_type: 'bert',
  vocab_size: 800,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 64,
  hidden_act: 'gelu',
  max_position_embeddings: 64,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  initializer_range: 0.02,
};
const FIELDS = Object.keys(VALID);

test('arbitrary JSON values and texts never crash the decoder', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      expectHandled(() => decodeBertConfig(v, FILE), FILE);
    }),
    fcParams,
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      expectHandled(() => parseBertConfig(s, FILE), FILE);
    }),
    fcParams,
  );
});

test('a wrong-typed or missing field is reported by name', () => {
  const mutation = fc.record({
    field: fc.constantFrom(...FIELDS),
    value: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 })),
  });
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (muts) => {
      const cfg: Record<string, unknown> = { ...VALID };
      for (const { field, value } of muts) {
        if (value === undefined) delete cfg[field];
        else cfg[field] = value;
      }
      const r = expectHandled(() => decodeBertConfig(cfg, FILE), FILE);
      if (E.isLeft(r)) {
        // The message must name one of the fields we touched (or the head-count rule they broke).
        const touched = muts.map((m) => m.field);
        assert.ok(
          touched.some((f) => r.left.message.includes(`"${f}"`)) || /hidden_size/.test(r.left.message),
          r.left.message,
        );
      } else {
        // Accepted configs round-trip through the writer (which fills in a missing architectures).
        const again = parseBertConfig(serializeBertConfig(r.right), FILE);
        assert.ok(E.isRight(again));
        if (E.isRight(again)) {
          assert.equal({ ...again.right, architectures: [] }, { ...r.right, architectures: [] });
          if (r.right.architectures.length > 0) assert.equal(again.right.architectures, r.right.architectures);
        }
      }
    }),
    fcParams,
  );
});

test.run();
