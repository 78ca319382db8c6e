/**
 * The task model asks the encoder only for the rows its heads read (`outputPositions`). Its logits
 * must equal the heads applied to the full last hidden state, for both heads and for methods that
 * shift the [MASK] per example (dynamic position) or prepend prefixes (demo encoder, RTE, f64).
 */
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isLinearParams, prngKey, scope, zeros } from '../core/index.ts';
import { expectWithin } from '../models/bert/testing/within.ts';
import { classifierLogits, verbalizerLogits } from '../prompting/heads.ts';
import { mergeConfig, type RunConfig } from './run-config.ts';
import { setupRun } from './run-setup.ts';

// the demo encoder: the fixtures' vocabularies lack RTE's label words
const MODEL = new URL('../models/demo-encoder', import.meta.url).pathname;
const DATA = new URL('../datasets/fewglue', import.meta.url).pathname;

const CASES: readonly Partial<RunConfig>[] = [
  { method: 'soft', head: 'classifier' },
  { method: 'soft', head: 'verbalizer' },
  { method: 'prefix', head: 'verbalizer' },
  { method: 'dynamic', head: 'verbalizer', dynamicPosition: 'instance' },
  { method: 'dynamic', head: 'classifier', dynamicPosition: 'instance', dynamicLength: 'task' },
];

for (const over of CASES) {
  test(`${over.method}/${over.head}: logits from the head rows equal the heads on the full last hidden state`, async () => {
    const c = mergeConfig([
      { model: MODEL, task: 'RTE', data: DATA, batchSize: 4, maxLength: 32, promptLength: 4, dtype: 'f64', ...over },
    ]);
    if (E.isLeft(c)) throw new Error(c.left.message);
    const { tm, task } = await setupRun(c.right);
    const model = tm.model;
    scope(model.bk, () => {
      const p = tm.init(prngKey(3));
      const b = tm.batch(task.train.slice(0, 4));
      const got = tm.forward(p, b).logits;
      // the same forward by hand, every row of the last layer computed
      const m = tm.method.inputs(p['prompt'], b.tokens, undefined);
      const h = model.encode(m.inputs).lastHiddenState;
      const shift = (r: number) => (typeof m.offset === 'number' ? m.offset : m.offset[r]!);
      const head = p['head'];
      const want =
        over.head === 'classifier' && head && isLinearParams(head)
          ? classifierLogits(model, h, head, { pooler: tm.pooler! })
          : verbalizerLogits(
              model,
              h,
              b.maskIndex.map((i, r) => i + shift(r)),
              task.verbalizer.map((w) => tm.tokenizer.wordId(w)!),
            );
      expectWithin('logits', got.dataSync(), want.dataSync(), 1e-12, 1e-10);
    });
  });
}

test("a method refuses another method's parameters (a checkpoint of another --method) and names itself", async () => {
  const c = mergeConfig([
    { model: MODEL, task: 'RTE', data: DATA, batchSize: 2, maxLength: 32, promptLength: 4, method: 'prefix' },
  ]);
  if (E.isLeft(c)) throw new Error(c.left.message);
  const { tm, task } = await setupRun(c.right);
  scope(tm.model.bk, () => {
    const b = tm.batch(task.train.slice(0, 2));
    const softTree = { promptEmbeddings: zeros(tm.model.bk, [4, tm.model.cfg.hiddenSize], tm.model.dtype) };
    assert.throws(() => tm.method.inputs(softTree, b.tokens), /prefix: the prompt parameters \[promptEmbeddings\]/);
  });
});

test.run();
