/**
 * Frozen dense weights stored as f16 (`BertModel.load(..., { weightStorage: 'f16' })`), on the HF fixtures.
 *
 * CPU: only the dense-layer weights become halves (embeddings, LayerNorms, biases stay f32); the encoder
 * still matches Hugging Face's f64 outputs, to a tolerance set by half rounding: every weight moves by
 * at most 2⁻¹¹ of itself, and the errors average out over the dot products and LayerNorms. Measured
 * max |Δ| (2026-11-23): hidden 2.0e-5 (bert-tiny) / 2.3e-5 (roberta-tiny) on values up to 3.6;
 * grad_inputs_embeds 8.2e-4 / 6.7e-4 on values up to 137 / 207. Tolerances keep ~10× margin:
 * hidden atol 2e-4, grad atol 1e-2, rtol 1e-3. It must also differ from the f32-weight encoder, or the
 * halves were never used.
 * WebGPU: the same f16-weight encoder (forward and the VJP to inputs_embeds, what prompt tuning trains)
 * against the CPU f16-weight encoder. Both round with the same algorithm (bit-identical casts, see
 * matmul-f16.parity), so only f32 accumulation order differs: the f32 encoder tolerance of
 * cli/verify-hf (atol 1e-4, rtol 1e-3) applies (measured: hidden 9.5e-7, grad ≤ 4.6e-5).
 */
import * as assert from 'uvu/assert';
import { scope, tensor, vjp, type Backend, type FloatDType, type Tensor } from '../../core/index.ts';
import type { BertModel } from '../../models/bert/model.ts';
import type { RawTensor } from '../../models/bert/io/raw-tensor.ts';
import { fixtureModel, fixtureReference, type FixtureName } from '../../models/bert/testing/hf-fixture.ts';
import { expectWithin } from '../../models/bert/testing/within.ts';
import { cpu, gpuSuite } from './harness.ts';

const { test, gpu } = await gpuSuite('encoder with f16 weights');

interface Outputs {
  readonly hidden: ArrayLike<number>;
  readonly grad: ArrayLike<number>;
}

/** Forward on the fixture's ids, then the VJP through inputs_embeds with the fixture's cotangent. */
async function run(bk: Backend, model: BertModel, name: FixtureName): Promise<Outputs> {
  const ref = fixtureReference(name);
  const t = (r: RawTensor, dt: 'i32' | FloatDType): Tensor => tensor(bk, r.data, { shape: r.shape, dtype: dt });
  const [h, g] = scope(bk, () => {
    const ids = ref.get('forward.input_ids')!;
    const hidden = model.encode({
      inputIds: t(ids, 'i32'),
      attentionMask: t(ref.get('forward.attention_mask')!, 'i32'),
      ...(ref.has('forward.token_type_ids') ? { tokenTypeIds: t(ref.get('forward.token_type_ids')!, 'i32') } : {}),
      hostInputIds: ids.data as Int32Array,
    }).lastHiddenState;
    const pos = ref.get('vjp.position_ids');
    const [, pullback] = vjp(
      (e: Tensor) =>
        model.encode({
          inputsEmbeds: e,
          attentionMask: t(ref.get('forward.attention_mask')!, 'i32'),
          ...(pos ? { positionIds: t(pos, 'i32') } : {}),
        }).lastHiddenState,
      t(ref.get('vjp.inputs_embeds')!, 'f32'),
    );
    return [hidden, pullback(t(ref.get('vjp.cotangent')!, 'f32'))] as const;
  });
  const out = { hidden: await h.data(), grad: await g.data() };
  h.dispose();
  g.dispose();
  return out;
}

for (const name of ['bert-tiny', 'roberta-tiny'] as const) {
  test(`${name}: f16 dense weights on CPU match HF to half-rounding tolerance, and differ from f32 weights`, async () => {
    const half = fixtureModel(name, cpu, 'f32', { weightStorage: 'f16' }),
      full = fixtureModel(name, cpu, 'f32');
    const q = half.layers[0]!.selfAttention.query.weight;
    assert.is(q.dtype, 'f16', 'dense weights are halves');
    assert.is(half.wordEmbeddings.dtype, 'f32', 'embeddings stay f32');
    const ref = fixtureReference(name);
    const h = await run(cpu, half, name),
      f = await run(cpu, full, name);
    expectWithin(`${name} hidden vs HF`, h.hidden, ref.get('forward.last_hidden_state')!.data, 2e-4, 1e-3);
    expectWithin(`${name} grad vs HF`, h.grad, ref.get('vjp.grad_inputs_embeds')!.data, 1e-2, 1e-3);
    let moved = 0;
    for (let i = 0; i < h.hidden.length; i++) moved = Math.max(moved, Math.abs(h.hidden[i]! - f.hidden[i]!));
    assert.ok(moved > 1e-6, `f16 storage changes the output (max |Δ| ${moved})`);
  });
}

test('f16 weight storage is refused for an f64 model (f64 → f16 would round twice)', () => {
  assert.throws(
    () => fixtureModel('bert-tiny', cpu, 'f64', { weightStorage: 'f16' }),
    /f16 weight storage needs an f32 model/,
  );
});

if (gpu) {
  const g = gpu;
  for (const name of ['bert-tiny', 'roberta-tiny'] as const) {
    test(`${name}: f16-weight encoder on WebGPU = CPU f16-weight encoder (forward and VJP)`, async () => {
      const want = await run(cpu, fixtureModel(name, cpu, 'f32', { weightStorage: 'f16' }), name);
      const got = await run(g, fixtureModel(name, g, 'f32', { weightStorage: 'f16' }), name);
      expectWithin(`${name} hidden`, got.hidden, want.hidden, 1e-4, 1e-3);
      expectWithin(`${name} grad`, got.grad, want.grad, 1e-4, 1e-3);
    });
  }
}

test.run();
