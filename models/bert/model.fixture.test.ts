/** The encoder against Hugging Face's own outputs (forward.* and vjp.* in the fixtures), f64 and f32. */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuBackend, scope, tensor, vjp, type FloatDType, type Tensor } from '../../core/index.ts';
import { parseBertConfig } from './config.ts';
import { BertModel } from './model.ts';
import type { WeightSource } from './modules.ts';
import type { RawTensor } from './raw-tensor.ts';
import { parseSafetensorsOrThrow } from './safetensors.ts';

const FIXTURES = new URL('../../../shared/fixtures/hf-reference/', import.meta.url);

function readTensors(file: URL, floatDtype: FloatDType): Map<string, RawTensor> {
  const f = parseSafetensorsOrThrow(new Uint8Array(readFileSync(file)), file.pathname, { floatDtype });
  return new Map(f.tensors.map((t) => [t.name.replace(/^(bert|roberta)\./, ''), t]));
}

function source(m: Map<string, RawTensor>): WeightSource {
  return {
    has: (n) => m.has(n),
    get: (n, shape) => {
      const t = m.get(n);
      if (!t) throw new Error(`missing ${n}`);
      if (t.shape.join() !== shape.join()) throw new Error(`${n}: want [${shape}] got [${t.shape}]`);
      return t;
    },
  };
}

function loadFixture(name: string, dtype: FloatDType) {
  const dir = new URL(`${name}/`, FIXTURES);
  const cfg = parseBertConfig(readFileSync(new URL('config.json', dir), 'utf8'), 'config.json');
  if (cfg._tag === 'Left') throw new Error(cfg.left.message);
  const bk = cpuBackend();
  const model = BertModel.load(source(readTensors(new URL('model.safetensors', dir), dtype)), cfg.right, bk, dtype);
  return { bk, cfg: cfg.right, model, ref: readTensors(new URL('reference.safetensors', dir), 'f64') };
}

/** max |got − ref| ≤ atol + rtol·|ref| elementwise; returns the worst violation ratio. */
function close(label: string, got: ArrayLike<number>, ref: ArrayLike<number>, atol: number, rtol: number): void {
  assert.is(got.length, ref.length, `${label}: length`);
  let worst = 0, at = -1, maxAbs = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i]! - ref[i]!);
    maxAbs = Math.max(maxAbs, d);
    const r = d / (atol + rtol * Math.abs(ref[i]!));
    if (!(r <= worst)) { worst = r; at = i; }
  }
  assert.ok(worst <= 1, `${label}: element ${at} got ${got[at]} want ${ref[at]} (max abs diff ${maxAbs.toExponential(2)})`);
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
          inputIds: t(ids, 'i32'), attentionMask: t(ref.get('forward.attention_mask')!, 'i32'),
          ...(ref.has('forward.token_type_ids') ? { tokenTypeIds: t(ref.get('forward.token_type_ids')!, 'i32') } : {}),
          hostInputIds: ids.data as Int32Array,
        });
        assert.equal(out.lastHiddenState.shape, [B, T, cfg.hiddenSize]);
        close('embeddings', out.embeddings.dataSync(), ref.get('forward.embeddings')!.data, tol.atol, tol.rtol);
        close('last_hidden_state', out.lastHiddenState.dataSync(), ref.get('forward.last_hidden_state')!.data, tol.atol, tol.rtol);
        close('mlm_logits', model.mlmLogits(out.lastHiddenState).dataSync(), ref.get('forward.mlm_logits')!.data, tol.atol, tol.rtol);
      });
    });

    test(`${name} ${dtype}: vjp through inputs_embeds matches HF`, () => {
      const { bk, model, ref } = loadFixture(name, dtype);
      scope(bk, () => {
        const t = (r: RawTensor, dt: 'i32' | FloatDType): Tensor => tensor(bk, r.data, { shape: r.shape, dtype: dt });
        const mask = t(ref.get('forward.attention_mask')!, 'i32');
        const pos = ref.get('vjp.position_ids');
        const [y, pullback] = vjp((e: Tensor) => model.encode({
          inputsEmbeds: e, attentionMask: mask, ...(pos ? { positionIds: t(pos, 'i32') } : {}),
        }).lastHiddenState, t(ref.get('vjp.inputs_embeds')!, dtype));
        close('vjp.last_hidden_state', y.dataSync(), ref.get('vjp.last_hidden_state')!.data, tol.atol, tol.rtol);
        const g = pullback(t(ref.get('vjp.cotangent')!, dtype));
        close('vjp.grad_inputs_embeds', g.dataSync(), ref.get('vjp.grad_inputs_embeds')!.data, tol.atol, tol.rtol);
      });
    });
  }
}

test.run();
