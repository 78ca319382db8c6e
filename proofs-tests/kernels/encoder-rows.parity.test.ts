/**
 * The row-pruned encoder on WebGPU: `skipPadding` (kept rows packed, scattered to the attention
 * layout and gathered back) and `outputPositions` (the last layer on the head rows only), forward
 * and the VJP to inputs_embeds, against the CPU f64 encoder computing every row, on the fixtures'
 * padded batch. f32 accumulation on the GPU: the encoder tolerance of cli/verify-hf (atol 1e-4, rtol 1e-3).
 */
import * as assert from 'uvu/assert';
import {
  gather,
  mul,
  reshape,
  scope,
  sum,
  tensor,
  valueAndGrad,
  type Backend,
  type FloatDType,
  type Tensor,
} from '../../core/index.ts';
import type { BertModel, EncoderInputs } from '../../models/bert/model.ts';
import { fixtureModel, fixtureReference, type FixtureName } from '../../models/bert/testing/hf-fixture.ts';
import { expectWithin } from '../../models/bert/testing/within.ts';
import { cpu, gpuSuite } from './harness.ts';

const { test, gpu } = await gpuSuite('row-pruned encoder');

/** Loss Σ w ⊙ rows read, its rows and d/d inputs_embeds, pruned or computing every row. */
async function run(bk: Backend, model: BertModel, name: FixtureName, dtype: FloatDType, pruned: boolean) {
  const ref = fixtureReference(name);
  const mask = ref.get('forward.attention_mask')!,
    emb = ref.get('vjp.inputs_embeds')!;
  const [B, T] = mask.shape as [number, number];
  const d = model.cfg.hiddenSize;
  const hostMask = Int32Array.from(mask.data as ArrayLike<number>);
  // each example reads row 0 and its last token
  const positions = Array.from({ length: B }, (_, b) => [0, hostMask.subarray(b * T, (b + 1) * T).lastIndexOf(1)]);
  const pos = ref.get('vjp.position_ids');
  const out = scope(bk, () => {
    const base: EncoderInputs = {
      attentionMask: tensor(bk, hostMask, { shape: [B, T], dtype: 'i32' }),
      ...(pos ? { positionIds: tensor(bk, pos.data, { shape: pos.shape, dtype: 'i32' }) } : {}),
    };
    const w = tensor(
      bk,
      Float64Array.from({ length: B * 2 * d }, (_, i) => Math.sin(i)),
      { shape: [B, 2, d], dtype },
    );
    const rows = (e: Tensor): Tensor => {
      if (pruned)
        return model.encode({
          ...base,
          inputsEmbeds: e,
          outputPositions: positions,
          skipPadding: true,
          hostAttentionMask: hostMask,
        }).lastHiddenState;
      const h = model.encode({ ...base, inputsEmbeds: e }).lastHiddenState;
      const flat = Int32Array.from(positions.flatMap((ps, b) => ps.map((p) => b * T + p)));
      return reshape(gather(reshape(h, [B * T, d]), tensor(bk, flat, { shape: [2 * B], dtype: 'i32' })), [B, 2, d]);
    };
    const e = tensor(bk, emb.data, { shape: emb.shape, dtype });
    const [loss, g] = valueAndGrad((x: Tensor) => sum(mul(rows(x), w)))(e);
    return [rows(e), loss, g] as const;
  });
  const res = { rows: await out[0].data(), loss: await out[1].data(), grad: await out[2].data() };
  for (const t of out) t.dispose();
  return res;
}

for (const name of ['bert-tiny', 'roberta-tiny'] as const) {
  test(`${name}: skipPadding + outputPositions on WebGPU equal the full f64 encoder's rows and gradient`, async () => {
    if (!gpu) return;
    const mask = fixtureReference(name).get('forward.attention_mask')!;
    assert.ok(Array.from(mask.data as ArrayLike<number>).includes(0), 'the fixture batch has padding to skip');
    const want = await run(cpu, fixtureModel(name, cpu, 'f64'), name, 'f64', false);
    const got = await run(gpu, fixtureModel(name, gpu, 'f32'), name, 'f32', true);
    expectWithin(`${name} rows`, got.rows, want.rows, 1e-4, 1e-3);
    expectWithin(`${name} loss`, got.loss, want.loss, 1e-4, 1e-3);
    expectWithin(`${name} d/d inputs_embeds`, got.grad, want.grad, 1e-4, 1e-3);
  });
}

test.run();
