/**
 * Frozen dense weights stored int8 (`BertModel.load(..., { weightStorage: 'int8' })`, core/tensor/int8.ts)
 * on the HF fixtures: the encoder's output and its VJP to inputs_embeds (what prompt tuning trains)
 * against Hugging Face's f64 reference, as norms: relative error of the hidden states and cosine of the
 * gradient. Measured (2026-12-07, bench/int8-quality.ts): hidden 2–4e-4 of f32's, gradient cosine to
 * f32 > 0.99999; the bounds keep ~5× margin (hidden ≤ 2e-3, cosine ≥ 0.999). The output must differ from
 * the f32-weight encoder's, or the codes were never used. The WASM backend's int8 encoder agrees with
 * the CPU one to the same bounds: the products are bit-identical, the f32 kernels around them are not,
 * and a last-bit difference can move a quantized activation by one code.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { cpuBackend, scope, tensor, vjp, type Backend, type Tensor } from '../../core/index.ts';
import { createWasmBackend } from '../../core/backend/wasm/index.ts';
import { Int8Weight } from '../../core/tensor/ops/int8-linear.ts';
import type { BertModel } from '../../models/bert/model.ts';
import type { RawTensor } from '../../models/bert/io/raw-tensor.ts';
import { fixtureModel, fixtureReference, type FixtureName } from '../../models/bert/testing/hf-fixture.ts';

const test = suite('encoder with int8 weights');
const cpu = cpuBackend();
const wasm = createWasmBackend({ threads: 2 });
test.after(() => wasm.dispose());

interface Outputs {
  readonly hidden: ArrayLike<number>;
  readonly grad: ArrayLike<number>;
}

function run(bk: Backend, model: BertModel, name: FixtureName): Outputs {
  const ref = fixtureReference(name);
  const t = (r: RawTensor, dt: 'i32' | 'f32'): Tensor => tensor(bk, r.data, { shape: r.shape, dtype: dt });
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
  const out = { hidden: h.dataSync(), grad: g.dataSync() };
  h.dispose();
  g.dispose();
  return out;
}

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
};
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! ** 2;
    bb += b[i]! ** 2;
  }
  return ab / Math.sqrt(aa * bb);
};

for (const name of ['bert-tiny', 'roberta-tiny'] as const) {
  test(`${name}: int8 dense weights on CPU stay within quantization error of HF, and differ from f32 weights`, () => {
    const q = fixtureModel(name, cpu, 'f32', { weightStorage: 'int8' }),
      full = fixtureModel(name, cpu, 'f32');
    assert.ok(q.layers[0]!.selfAttention.query.weight instanceof Int8Weight, 'dense weights are int8');
    assert.is(q.wordEmbeddings.dtype, 'f32', 'embeddings stay f32');
    const ref = fixtureReference(name);
    const h = run(cpu, q, name),
      f = run(cpu, full, name);
    const hiddenErr = relErr(h.hidden, ref.get('forward.last_hidden_state')!.data);
    assert.ok(hiddenErr <= 2e-3, `hidden rel err ${hiddenErr}`);
    const cos = cosine(h.grad, ref.get('vjp.grad_inputs_embeds')!.data);
    assert.ok(cos >= 0.999, `grad cosine ${cos}`);
    assert.ok(relErr(h.hidden, f.hidden) > 1e-5, 'int8 storage changes the output');
  });

  test(`${name}: the WASM int8 encoder agrees with the CPU int8 encoder`, () => {
    const want = run(cpu, fixtureModel(name, cpu, 'f32', { weightStorage: 'int8' }), name);
    const got = run(wasm, fixtureModel(name, wasm, 'f32', { weightStorage: 'int8' }), name);
    const e = relErr(got.hidden, want.hidden);
    assert.ok(e <= 2e-3, `hidden rel err ${e}`);
    const cos = cosine(got.grad, want.grad);
    assert.ok(cos >= 0.999, `grad cosine ${cos}`);
  });
}

test('int8 weight storage is refused for an f64 model', () => {
  assert.throws(
    () => fixtureModel('bert-tiny', cpu, 'f64', { weightStorage: 'int8' }),
    /int8 weight storage needs an f32 model/,
  );
});

test('keepF32 keeps the named dense layers f32 under int8 storage', () => {
  const m = fixtureModel('bert-tiny', cpu, 'f32', {
    weightStorage: 'int8',
    keepF32: (p) => p.endsWith('output.dense'),
  });
  const l = m.layers[0]!;
  assert.ok(l.selfAttention.query.weight instanceof Int8Weight);
  assert.not.ok(l.attentionOutput.dense.weight instanceof Int8Weight);
  assert.not.ok(l.output.dense.weight instanceof Int8Weight);
});

test.run();
