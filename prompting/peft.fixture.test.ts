/** PEFT parity: prompt tuning and prefix tuning loss, logits and gradients of every trainable tensor. */
import { test } from 'uvu';
import { cpuBackend, crossEntropy, scope, tensor, valueAndGrad, type FloatDType, type Tensor } from '../core/index.ts';
import { Linear } from '../models/bert/modules.ts';
import { fixtureModel, fixtureReference } from '../models/bert/testing/hf-fixture.ts';
import { expectWithin } from '../models/bert/testing/within.ts';
import { tokenBatch } from './common.ts';
import { classifierLogits, type ClassifierParams } from './heads.ts';
import { applyPrefix, type PrefixParams } from './prefix.ts';
import { applySoftPrompt, type SoftPromptParams } from './soft-prompt.ts';

for (const dtype of ['f64', 'f32'] as const) {
  const tol = dtype === 'f64' ? { atol: 1e-7, rtol: 1e-5 } : { atol: 1e-5, rtol: 1e-3 };
  for (const method of ['prompt', 'prefix'] as const) {
    test(`peft.${method} (${dtype}): loss, logits and every trainable gradient match PEFT`, () => {
      const bk = cpuBackend();
      const model = fixtureModel('bert-tiny', bk, dtype);
      const ref = fixtureReference('bert-tiny');
      const r = (k: string) => {
        const t = ref.get(k);
        if (!t) throw new Error(`reference has no ${k}`);
        return t;
      };
      const t = (k: string, dt: 'i32' | FloatDType = dtype): Tensor =>
        tensor(bk, r(k).data, { shape: r(k).shape, dtype: dt });
      const pooler = new Linear(
        t(`peft.${method}.frozen.pooler.dense.weight`),
        t(`peft.${method}.frozen.pooler.dense.bias`),
      );
      const ids = r('forward.input_ids');
      const [B, T] = ids.shape as [number, number];
      const batch = tokenBatch(
        bk,
        B,
        T,
        ids.data as Int32Array,
        r('forward.attention_mask').data as Int32Array,
        r('forward.token_type_ids').data as Int32Array,
      );
      const labels = t('peft.labels', 'i32');
      const head: ClassifierParams = {
        weight: t(`peft.${method}.param.classifier.weight`),
        bias: t(`peft.${method}.param.classifier.bias`),
      };
      const table = t(`peft.${method}.param.prompt_encoder.embedding.weight`);

      scope(bk, () => {
        type P = { prompt: Tensor; head: ClassifierParams };
        const forward = (p: P): [Tensor, Tensor] => {
          const inputs =
            method === 'prompt'
              ? applySoftPrompt(model, { promptEmbeddings: p.prompt } satisfies SoftPromptParams, batch, {
                  numVirtualTokens: 5,
                })
              : applyPrefix(model, { embedding: p.prompt } satisfies PrefixParams, batch);
          const logits = classifierLogits(model, model.encode(inputs).lastHiddenState, p.head, { pooler });
          return [crossEntropy(logits, labels), logits];
        };
        const [[loss, logits], g] = valueAndGrad(forward, { hasAux: true })({ prompt: table, head });
        expectWithin('loss', loss.dataSync(), r(`peft.${method}.loss`).data, tol.atol, tol.rtol);
        expectWithin('logits', logits.dataSync(), r(`peft.${method}.logits`).data, tol.atol, tol.rtol);
        expectWithin(
          'grad.prompt_encoder.embedding.weight',
          g.prompt.dataSync(),
          r(`peft.${method}.grad.prompt_encoder.embedding.weight`).data,
          tol.atol,
          tol.rtol,
        );
        expectWithin(
          'grad.classifier.weight',
          g.head.weight.dataSync(),
          r(`peft.${method}.grad.classifier.weight`).data,
          tol.atol,
          tol.rtol,
        );
        expectWithin(
          'grad.classifier.bias',
          g.head.bias.dataSync(),
          r(`peft.${method}.grad.classifier.bias`).data,
          tol.atol,
          tol.rtol,
        );
      });
    });
  }
}

test.run();
