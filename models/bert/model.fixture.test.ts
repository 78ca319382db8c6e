/** The encoder against Hugging Face's own outputs (forward.* and vjp.* in the fixtures), f64 and f32. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuBackend, scope, tensor, vjp, type FloatDType, type Tensor } from '../../core/index.ts';
import type { RawTensor } from './io/raw-tensor.ts';
import { fixtureConfig, fixtureModel, fixtureReference, type FixtureName } from './testing/hf-fixture.ts';
import { expectWithin } from './testing/within.ts';

function loadFixture(name: FixtureName, dtype: FloatDType) {
  const bk = cpuBackend();
  return { bk, cfg: fixtureConfig(name), model: fixtureModel(name, bk, dtype), ref: fixtureReference(name) };
}

for (const name of ['bert-tiny', 'roberta-tiny'] as const) {
  for (const dtype of ['f64', 'f32'] as const) {
    const tol = dtype === 'f64' ? { atol: 1e-6, rtol: 1e-5 } : { atol: 1e-4, rtol: 1e-3 };
    test(`${name} ${dtype}: forward embeddings, last_hidden_state, mlm_logits match HF`, () => {
      const { bk, cfg, model, ref } = loadFixture(name, dtype);
      const ids = ref.get('forward.input_ids')!;
      const [B, T] = ids.shape as [number, number];
      scope(bk, () => {
        const t = (r: RawTensor, dt: 'i32' | FloatDType): Tensor => tensor(bk, r.data, { shape: r.shape, dtype: dt });
        const out = model.encode({
          inputIds: t(ids, 'i32'),
          attentionMask: t(ref.get('forward.attention_mask')!, 'i32'),
          ...(ref.has('forward.token_type_ids') ? { tokenTypeIds: t(ref.get('forward.token_type_ids')!, 'i32') } : {}),
          hostInputIds: ids.data as Int32Array,
        });
        assert.equal(out.lastHiddenState.shape, [B, T, cfg.hiddenSize]);
        expectWithin('embeddings', out.embeddings.dataSync(), ref.get('forward.embeddings')!.data, tol.atol, tol.rtol);
        expectWithin(
          'last_hidden_state',
          out.lastHiddenState.dataSync(),
          ref.get('forward.last_hidden_state')!.data,
          tol.atol,
          tol.rtol,
        );
        expectWithin(
          'mlm_logits',
          model.mlmLogits(out.lastHiddenState).dataSync(),
          ref.get('forward.mlm_logits')!.data,
          tol.atol,
          tol.rtol,
        );
      });
    });

    test(`${name} ${dtype}: vjp through inputs_embeds matches HF`, () => {
      const { bk, model, ref } = loadFixture(name, dtype);
      scope(bk, () => {
        const t = (r: RawTensor, dt: 'i32' | FloatDType): Tensor => tensor(bk, r.data, { shape: r.shape, dtype: dt });
        const mask = t(ref.get('forward.attention_mask')!, 'i32');
        const pos = ref.get('vjp.position_ids');
        const [y, pullback] = vjp(
          (e: Tensor) =>
            model.encode({
              inputsEmbeds: e,
              attentionMask: mask,
              ...(pos ? { positionIds: t(pos, 'i32') } : {}),
            }).lastHiddenState,
          t(ref.get('vjp.inputs_embeds')!, dtype),
        );
        expectWithin('vjp.last_hidden_state', y.dataSync(), ref.get('vjp.last_hidden_state')!.data, tol.atol, tol.rtol);
        const g = pullback(t(ref.get('vjp.cotangent')!, dtype));
        expectWithin(
          'vjp.grad_inputs_embeds',
          g.dataSync(),
          ref.get('vjp.grad_inputs_embeds')!.data,
          tol.atol,
          tol.rtol,
        );
      });
    });
  }
}

test.run();
