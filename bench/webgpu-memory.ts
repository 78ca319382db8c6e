/**
 * GPU memory over a long prompt-tuning run: tiny random BERT (bench/workload.ts 'bert-tiny' shapes) on
 * WebGPU, soft prompt + classifier head, AdamW in place, one scope per step. Every `--every` steps it
 * records backend.live() (storages), live bytes and pooled bytes (free buffers kept for reuse); flat
 * numbers after warm-up mean no leak and a bounded pool.
 * Usage: node --import ./scripts/register.mjs bench/webgpu-memory.ts [--steps 10000] [--every 500] [--minutes M] [--composite]
 * (--composite routes attention through matmul + softmax + matmul instead of the fused kernels.)
 */
import { cpus, loadavg } from 'node:os';
import {
  crossEntropy,
  FUSED_ATTENTION,
  keep,
  prngKey,
  scope,
  splitKey,
  tensor,
  treeLeaves,
  valueAndGrad,
  type Tensor,
} from '../core/index.ts';
import { createWebGpuBackend } from '../core/backend/webgpu/index.ts';
import { BertModel } from '../models/bert/model.ts';
import { bertConfigFor, randomWeightSource } from '../models/bert/random-weights.ts';
import { tokenBatch } from '../prompting/common.ts';
import { classifierLogits, initClassifier, type ClassifierParams } from '../prompting/heads.ts';
import { applySoftPrompt, initSoftPrompt, type SoftPromptParams } from '../prompting/soft-prompt.ts';
import { adamw, type OptState } from '../training/optimizer.ts';
import { WORKLOADS } from './workload.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const steps = opt('--steps', 10000),
  every = opt('--every', 500),
  minutes = opt('--minutes', Infinity);
FUSED_ATTENTION.webgpu = !args.includes('--composite');

const g = await createWebGpuBackend({ log: () => {} });
const w = WORKLOADS['bert-tiny']!;
const cfg = bertConfigFor({
  vocabSize: w.vocab,
  hiddenSize: w.hidden,
  numHiddenLayers: w.layers,
  numAttentionHeads: w.heads,
  intermediateSize: w.intermediate,
});
const [kw, kp, kh] = splitKey(prngKey(0), 3);
const model = BertModel.load(randomWeightSource(cfg, kw!, { mlmHead: false }), cfg, g, 'f32');
const { batch: B, seq: T, promptTokens: m } = w;
const ids = new Int32Array(B * T),
  mask = new Int32Array(B * T);
for (let b = 0; b < B; b++)
  for (let t = 0; t < T; t++) {
    const len = T - 3 * b;
    ids[b * T + t] = t < len ? (t === 0 ? 101 : 100 + ((b * 131 + t * 17) % 800)) : 0;
    mask[b * T + t] = t < len ? 1 : 0;
  }
const batch = tokenBatch(g, B, T, ids, mask, new Int32Array(B * T));
const labels = keep(
  tensor(
    g,
    Int32Array.from({ length: B }, (_, b) => b % 2),
    { shape: [B], dtype: 'i32' },
  ),
);
const softCfg = { numVirtualTokens: m };
type Params = {
  readonly [k: string]: SoftPromptParams | ClassifierParams;
  readonly prompt: SoftPromptParams;
  readonly head: ClassifierParams;
};
let params: Params = { prompt: initSoftPrompt(model, softCfg, kp!), head: initClassifier(model, w.labels, kh!) };
const optim = adamw({ inPlace: true, weightDecay: 0.01 });
let state: OptState<'m' | 'v'> = optim.init(params);
for (const { leaf } of treeLeaves(state.slots)) keep(leaf);
const vg = valueAndGrad((p: Params): Tensor =>
  crossEntropy(
    classifierLogits(model, model.encode(applySoftPrompt(model, p.prompt, batch, softCfg)).lastHiddenState, p.head),
    labels,
  ),
);

/** Live and pooled bytes, read from the runtime's private maps (bench-only introspection). */
function bytes(): { live: number; pooled: number } {
  const rt = g.rt as unknown as {
    store: Map<number, { cls: number }>;
    clean: Map<number, unknown[]>;
    dirty: Map<number, unknown[]>;
  };
  let live = 0,
    pooled = 0;
  for (const s of rt.store.values()) live += s.cls;
  for (const pool of [rt.clean, rt.dirty]) for (const [cls, list] of pool) pooled += cls * list.length;
  return { live, pooled };
}

const mib = (b: number) => (b / 2 ** 20).toFixed(2);
console.log(
  `webgpu-memory: ${g.adapterInfo}; ${cpus().length}× ${cpus()[0]?.model ?? '?'}, load ${loadavg()[0]!.toFixed(1)}; ${new Date().toISOString()}`,
);
console.log(
  `bert-tiny L=${w.layers} d=${w.hidden} H=${w.heads} B=${B} T=${T}+${m}; attention ${FUSED_ATTENTION.webgpu ? 'fused' : 'composite'}; ${steps} steps`,
);
console.log('step     loss      live  liveMiB  pooledMiB  ms/step');
const t0 = performance.now();
let tLast = t0,
  done = 0;
for (let s = 1; s <= steps; s++) {
  const loss = scope(g, () => {
    const [l, grads] = vg(params);
    const upd = optim.update(params, grads, state, 1e-3);
    params = upd.params;
    state = upd.state;
    return keep(l);
  });
  const v = (await loss.data())[0]!; // a training loop reads its loss: keeps the queue from running ahead
  if (s % every === 0 || s === 1 || s === steps) {
    const { live, pooled } = bytes(),
      now = performance.now();
    console.log(
      `${String(s).padEnd(8)} ${v.toFixed(4)}  ${String(g.live()).padStart(6)}  ${mib(live).padStart(7)}  ${mib(pooled).padStart(9)}  ${((now - tLast) / (s === 1 ? 1 : every)).toFixed(1).padStart(7)}`,
    );
    tLast = now;
  }
  loss.dispose();
  done = s;
  if ((performance.now() - t0) / 60000 > minutes) {
    await g.flush();
    break;
  }
}
console.log(`${done} steps in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
g.destroy();
