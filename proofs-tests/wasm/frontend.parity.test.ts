/**
 * Front-end parity: loss and gradients of a soft prompt + classifier head through a random 2-layer
 * BERT, on the WASM backend in f32 vs the CPU reference in f64 (every overridden kernel, composed
 * through autograd), then one in-place AdamW step on both.
 */
import { suite } from 'uvu';
import {
  crossEntropy,
  prngKey,
  splitKey,
  tensor,
  treeLeaves,
  valueAndGrad,
  type Backend,
  type FloatDType,
  type Tensor,
} from '../../core/index.ts';
import { BertModel } from '../../models/bert/model.ts';
import { bertConfigFor, randomWeightSource } from '../../models/bert/random-weights.ts';
import { tokenBatch } from '../../prompting/common.ts';
import { classifierLogits, initClassifier, type ClassifierParams } from '../../prompting/heads.ts';
import { applySoftPrompt, initSoftPrompt, type SoftPromptParams } from '../../prompting/soft-prompt.ts';
import { adamw } from '../../training/optimizer.ts';
import { expectClose } from '../support/close.ts';
import { createWasmBackend } from '../../core/backend/wasm/index.ts';
import { cpu, wasm } from './harness.ts';

const test = suite('wasm front-end parity');
test.after(() => wasm.dispose());

// odd sizes so GEMM edge tiles and SIMD tails are on the path
const cfg = bertConfigFor({
  vocabSize: 97,
  hiddenSize: 36,
  numHiddenLayers: 2,
  numAttentionHeads: 3,
  intermediateSize: 70,
});
const B = 3,
  T = 9,
  m = 5;

interface Params {
  readonly [k: string]: SoftPromptParams | ClassifierParams;
  readonly prompt: SoftPromptParams;
  readonly head: ClassifierParams;
}

function run(bk: Backend, dtype: FloatDType) {
  const [kw, kp, kh] = splitKey(prngKey(7), 3);
  // the f32 side gets weights already rounded to f32, so both see the same numbers
  const model = BertModel.load(randomWeightSource(cfg, kw!, { mlmHead: false }), cfg, bk, dtype);
  const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % cfg.vocabSize);
  const mask = Int32Array.from({ length: B * T }, (_, i) => (i % T < T - Math.floor(i / T) * 2 ? 1 : 0));
  const batch = tokenBatch(bk, B, T, ids, mask, new Int32Array(B * T));
  const labels = tensor(bk, Int32Array.from([0, 1, 1]), { shape: [B], dtype: 'i32' });
  const params: Params = {
    prompt: initSoftPrompt(model, { numVirtualTokens: m }, kp!),
    head: initClassifier(model, 2, kh!),
  };
  const f = (p: Params): Tensor =>
    crossEntropy(
      classifierLogits(
        model,
        model.encode(applySoftPrompt(model, p.prompt, batch, { numVirtualTokens: m })).lastHiddenState,
        p.head,
      ),
      labels,
    );
  const [loss, grads] = valueAndGrad(f)(params);
  const opt = adamw({ inPlace: true });
  const upd = opt.update(params, grads, opt.init(params), 1e-2);
  return {
    loss: loss.dataSync()[0]!,
    grads: treeLeaves(grads).map(({ path, leaf }) => [path, leaf.dataSync()] as const),
    updated: treeLeaves(upd.params).map(({ path, leaf }) => [path, leaf.dataSync()] as const),
  };
}

test('soft prompt + head: loss, gradients and one AdamW step (wasm f32 vs cpu f64)', () => {
  const ref = run(cpu, 'f64'),
    got = run(wasm, 'f32');
  expectClose([got.loss], [ref.loss], { atol: 1e-5, rtol: 1e-4 }, 'loss');
  for (const [i, [path, g]] of got.grads.entries()) {
    const [rpath, r] = ref.grads[i]!;
    if (path !== rpath) throw new Error(`gradient trees differ: ${path} vs ${rpath}`);
    const scale = Math.max(...Array.from(r, Math.abs));
    expectClose(g, r, { atol: 2e-4 * scale, rtol: 2e-3 }, `d loss / d ${path}`);
  }
  for (const [i, [path, p]] of got.updated.entries())
    expectClose(p, ref.updated[i]![1], { atol: 1e-5, rtol: 1e-4 }, `updated ${path}`);
});

test('a full heap: results copied out to plain arrays give the same numbers', () => {
  const small = createWasmBackend({ threads: 2, outputHeapBytes: 1 << 16 });
  try {
    const ref = run(cpu, 'f64'),
      got = run(small, 'f32');
    expectClose([got.loss], [ref.loss], { atol: 1e-5, rtol: 1e-4 }, 'loss (plain outputs)');
    for (const [i, [path, g]] of got.grads.entries()) {
      const r = ref.grads[i]![1];
      expectClose(
        g,
        r,
        { atol: 2e-4 * Math.max(...Array.from(r, Math.abs)), rtol: 2e-3 },
        `d loss / d ${path} (plain outputs)`,
      );
    }
  } finally {
    small.dispose();
  }
});

test.run();
