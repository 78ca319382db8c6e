/**
 * Dropout's default per method (docs/methods.md, "Dropout"): off for soft, dynamic and InfoPrompt, on at
 * the checkpoint's rates for prefix; `--dropout p` sets one rate for the encoder and the classifier, and
 * true / false are kept. Checked on the config and on the loss itself: with dropout off, two different
 * step keys give the identical training loss; with it on they differ (the demo encoder's rates are 0.1).
 */
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prngKey } from '../core/index.ts';
import type { BertConfig } from '../models/bert/config.ts';
import { DEMO_ENCODER } from '../models/bundled.ts';
import { decodePartial, DROPOUT_DEFAULTS, mergeConfig, METHODS, type RunConfig } from './run-config.ts';
import { setupRun } from './run-setup.ts';

const config = (over: Partial<RunConfig>): RunConfig => {
  const c = mergeConfig([{ model: DEMO_ENCODER, task: 'RTE', promptLength: 2, maxLength: 24, ...over }]);
  if (E.isLeft(c)) throw new Error(c.left.message);
  return c.right;
};

test('defaults: off for soft, dynamic and infoprompt; the checkpoint rates for prefix', () => {
  assert.equal(Object.fromEntries(METHODS.map((m) => [m, config({ method: m }).dropout])), {
    soft: false,
    prefix: true,
    dynamic: false,
    infoprompt: false,
  });
  assert.equal(DROPOUT_DEFAULTS, { soft: false, prefix: true, dynamic: false, infoprompt: false });
});

test('--dropout takes a rate, true or false, and overrides the method default', () => {
  const flags = (v: string) => decodePartial({ dropout: v }, 'command line');
  assert.equal(flags('0.2'), E.right({ dropout: 0.2 }));
  assert.equal(flags('0'), E.right({ dropout: 0 }));
  assert.equal(flags('true'), E.right({ dropout: true }));
  assert.is(config({ method: 'soft', dropout: 0.2 }).dropout, 0.2);
  assert.is(config({ method: 'prefix', dropout: false }).dropout, false);
  for (const bad of ['1', '-0.1', 'yes']) {
    const r = flags(bad);
    assert.ok(E.isLeft(r) && /field "dropout": must be a probability in \[0, 1\)/.test(r.left.message), bad);
  }
});

/** The step-0 training loss of the same batch and parameters under two different step keys. */
async function lossesUnderTwoKeys(over: Partial<RunConfig>): Promise<[number, number, BertConfig]> {
  const cfg = config({ backend: 'cpu', dtype: 'f64', ...over });
  const { tm, task } = await setupRun(cfg);
  const params = tm.init(prngKey(7));
  const batch = tm.batch(task.train.slice(0, 4));
  const at = async (seed: number) => {
    const [loss] = tm.loss(params, batch, { key: prngKey(seed), step: 0 });
    return (await loss.data())[0]!;
  };
  return [await at(1), await at(2), tm.model.cfg];
}

test('soft by default trains without dropout: the loss does not depend on the step key', async () => {
  const [a, b] = await lossesUnderTwoKeys({ method: 'soft' });
  assert.is(a, b);
});

test('prefix by default, and --dropout 0.3 on soft, train with dropout: the key changes the loss', async () => {
  const [a, b] = await lossesUnderTwoKeys({ method: 'prefix' });
  assert.is.not(a, b);
  const [c, d, modelCfg] = await lossesUnderTwoKeys({ method: 'soft', dropout: 0.3 });
  assert.is.not(c, d);
  assert.equal(
    [modelCfg.hiddenDropoutProb, modelCfg.attentionProbsDropoutProb, modelCfg.classifierDropout],
    [0.3, 0.3, 0.3],
  );
});

test.run();
