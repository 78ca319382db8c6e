/**
 * The prompt-tuning step of bench/workload.ts in TensorFlow.js, the JavaScript peer of BENCHMARKS.md:
 *   node --import ./scripts/register.mjs bench/tfjs-prompt-step.ts --backend wasm|cpu [--workload bert-small|bert-base]
 *        [--steps 10] [--warmup 2] [--threads 2] [--force-threads] [--json]
 * `wasm` is @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD), `cpu` the pure-JS @tensorflow/tfjs-backend-cpu.
 * Same step as bench/prompt-step.ts and bench/torch_prompt_step.py: frozen BERT (the very weights, prompt
 * rows and head init of PromptGrad's bench: models/bert/random-weights.ts with the same keys), eval mode,
 * f32, m soft-prompt rows before [CLS] (mask ones, positions 0..m+T-1, token type 0), HF's
 * (1 − mask)·finfo.min additive mask, erf GELU, post-LN with eps 1e-12, tanh pooler on the first token,
 * a Linear head, mean cross-entropy; tf.variableGrads over {prompt, head} only (encoder weights are plain
 * tensors, so tfjs prunes their weight gradients from the tape); then AdamW written out in tf ops
 * (torch's decoupled decay p ← p·(1 − lr·wd), then Adam with bias correction, eps 1e-8; tf.train.adam
 * has no decoupled decay). Timing: median and min ms/step after warm-up, the loss read back each step.
 * Peak RSS is the kernel's (getrusage maxrss, as the torch script reads it).
 *
 * Threads: tfjs-backend-wasm 4.22 reports no multithread support under Node (WASM_HAS_MULTITHREAD_SUPPORT
 * is false when IS_NODE; tfjs issue #3830), so it loads the single-threaded SIMD binary whatever
 * setThreadsCount says; --force-threads sets the flag anyway, to try the pthread build. The JSON's
 * `threads` is what getThreadsCount() reports after init.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { normalArray, prngKey, randIntArray, splitKey } from '../core/tensor/random.ts';
import { bertConfigFor, randomWeightSource } from '../models/bert/random-weights.ts';
import { arg, median } from './backends.ts';
import { stepBenchArgs, type Workload } from './workload.ts';

const F32_MIN = -3.4028234663852886e38;
const LN_EPS = 1e-12;
/** A frozen Linear: x ↦ x·Wᵀ + b, W [out, in] as HF stores it. */
type Dense = (x: tf.Tensor) => tf.Tensor;
type Norm = readonly [gamma: tf.Tensor1D, beta: tf.Tensor1D];
interface Layer {
  readonly q: Dense;
  readonly k: Dense;
  readonly v: Dense;
  readonly o: Dense;
  readonly ln1: Norm;
  readonly i: Dense;
  readonly out: Dense;
  readonly ln2: Norm;
}

const tfjsDist = (pkg: string) =>
  join(dirname(createRequire(import.meta.url).resolve(`@tensorflow/${pkg}/package.json`)), 'dist');

/**
 * tfjs-core's Node bundle registers no gradients (the @tensorflow/tfjs meta-package adds them), so this
 * bundles core's ESM `register_all_gradients` with esbuild and runs it. The bundle carries its own copy
 * of core's modules, but the engine and the kernel/gradient registries are process-wide globals
 * (`_tfengine`, getGlobal), so the gradients land where the CJS core looks for them.
 */
async function registerGradients(): Promise<void> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [join(tfjsDist('tfjs-core'), 'register_all_gradients.js')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    write: false,
    logLevel: 'error',
  });
  await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0]!.contents).toString('base64')}`);
}

/** Initialises the tfjs backend; returns what it actually runs with. */
async function initBackend(
  name: string,
  threads: number,
  forceThreads: boolean,
): Promise<{ threads: number; simd: boolean }> {
  if (name === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    return { threads: 1, simd: false };
  }
  if (name !== 'wasm') throw new Error(`unknown tfjs backend ${name} (wasm | cpu)`);
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(`${tfjsDist('tfjs-backend-wasm')}/`); // the .wasm binaries next to the Node bundle
  wasm.setThreadsCount(threads);
  if (forceThreads) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
  return { threads: wasm.getThreadsCount(), simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) };
}

/** Frozen encoder tensors, prompt and head variables, and the batch: the draws of bench/workload.ts. */
function build(w: Workload, naiveLinear: boolean, seed = 0) {
  const cfg = bertConfigFor({
    vocabSize: w.vocab,
    hiddenSize: w.hidden,
    numHiddenLayers: w.layers,
    numAttentionHeads: w.heads,
    intermediateSize: w.intermediate,
  });
  const [kw, kp, kh] = splitKey(prngKey(seed), 3) as [
    ReturnType<typeof prngKey>,
    ReturnType<typeof prngKey>,
    ReturnType<typeof prngKey>,
  ];
  const src = randomWeightSource(cfg, kw, { mlmHead: false });
  const { hidden: d, intermediate: f, vocab: V, batch: B, seq: T, promptTokens: m } = w;
  const get = (name: string, shape: number[]) => Float32Array.from(src.get(name, shape).data);
  const dense = (p: string, out: number, inp: number): Dense =>
    frozenLinear(
      tf.tensor2d(get(`${p}.weight`, [out, inp]), [out, inp]),
      tf.tensor1d(get(`${p}.bias`, [out])),
      naiveLinear,
    );
  const norm = (p: string): Norm => [tf.tensor1d(get(`${p}.weight`, [d])), tf.tensor1d(get(`${p}.bias`, [d]))];
  const wordData = get('embeddings.word_embeddings.weight', [V, d]);
  const word = tf.tensor2d(wordData, [V, d]);
  const pos = tf.tensor2d(get('embeddings.position_embeddings.weight', [cfg.maxPositionEmbeddings, d]), [
    cfg.maxPositionEmbeddings,
    d,
  ]);
  const type0 = tf.tensor1d(get('embeddings.token_type_embeddings.weight', [cfg.typeVocabSize, d]).subarray(0, d));
  const lnE = norm('embeddings.LayerNorm');
  const layers: Layer[] = Array.from({ length: w.layers }, (_, l) => {
    const p = `encoder.layer.${l}`;
    return {
      q: dense(`${p}.attention.self.query`, d, d),
      k: dense(`${p}.attention.self.key`, d, d),
      v: dense(`${p}.attention.self.value`, d, d),
      o: dense(`${p}.attention.output.dense`, d, d),
      ln1: norm(`${p}.attention.output.LayerNorm`),
      i: dense(`${p}.intermediate.dense`, f, d),
      out: dense(`${p}.output.dense`, d, f),
      ln2: norm(`${p}.output.LayerNorm`),
    };
  });
  const pooler = dense('pooler.dense', d, d);
  // prompt: vocabulary rows (initSoftPrompt's default); head: N(0, 0.02²) weight, zero bias (initClassifier)
  const promptRows = new Float32Array(m * d);
  randIntArray(kp, m, V).forEach((r, i) => promptRows.set(wordData.subarray(r * d, (r + 1) * d), i * d));
  const headW = Float32Array.from(normalArray(kh, w.labels * d), (z) => cfg.initializerRange * z);
  const prompt = tf.variable(tf.tensor2d(promptRows, [m, d]), true, 'prompt');
  const head = [
    tf.variable(tf.tensor2d(headW, [w.labels, d]), true, 'head.weight'),
    tf.variable(tf.zeros([w.labels]), true, 'head.bias'),
  ] as const;
  // the batch of buildPromptStep: ragged lengths, [CLS] first, padding id 0
  const ids = new Int32Array(B * T),
    mask = new Float32Array(B * (m + T));
  for (let b = 0; b < B; b++) {
    const len = T - ((b * 7) % Math.max(1, T >> 2));
    for (let t = 0; t < m + T; t++) mask[b * (m + T) + t] = t < m + len ? 1 : 0;
    for (let t = 0; t < len; t++) ids[b * T + t] = (t === 0 ? 101 : 1000 + ((b * 131 + t * 17) % (V - 1000))) % V;
  }
  const maskBias = tf.tensor4d(
    mask.map((x) => (1 - x) * F32_MIN),
    [B, 1, 1, m + T],
  );
  const labels = tf.oneHot(
    tf.tensor1d(
      Int32Array.from({ length: B }, (_, b) => b % w.labels),
      'int32',
    ),
    w.labels,
  );
  return { word, pos, type0, lnE, layers, pooler, prompt, head, ids: tf.tensor1d(ids, 'int32'), maskBias, labels };
}

/**
 * tfjs-backend-wasm hands a matMul to XNNPACK (single-threaded: no thread pool is passed) only without
 * transposes and with batch-1 operands (batch_mat_mul_impl.cc); transposeA/B and batched products take
 * a blocked scalar loop (x·Wᵀ at 672×256×1024: 440 ms against 47 ms for x·W on this box). So the frozen
 * weights are kept in both layouts, Wᵀ [in, out] for the forward pass and W for dx = dy·W, through
 * tf.customGrad (no weight gradient: the layer is frozen). --naive-linear is the plain
 * tf.matMul(x, W, false, true) + b with tfjs's own gradient, on the slow loop. Attention's batched
 * q·kᵀ and p·v stay on the slow loop either way. Not tf.fused.matMul with transposeB: the slow loop
 * indexes a 1-D bias by the flat output index, min(i·N + j, N − 1), not j, so its bias is wrong.
 */
function frozenLinear(w: tf.Tensor2D, b: tf.Tensor1D, naive: boolean): Dense {
  if (naive) return (x) => tf.add(tf.matMul(x, w, false, true), b);
  const wT = tf.transpose(w);
  const f = tf.customGrad((x) => ({
    value: tf.fused.matMul({ a: x as tf.Tensor2D, b: wT, bias: b }),
    gradFunc: (dy) => tf.matMul(dy, w),
  }));
  return (x) => f(x);
}
function layerNorm(x: tf.Tensor, [gamma, beta]: Norm): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LN_EPS))), gamma), beta);
}
const gelu = (x: tf.Tensor): tf.Tensor => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));

function promptStep(w: Workload, naiveLinear: boolean) {
  const net = build(w, naiveLinear);
  const { batch: B, seq: T, promptTokens: m, hidden: d, heads: H } = w;
  const L = m + T,
    Dh = d / H;
  const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, L, H, Dh]), [0, 2, 1, 3]);
  const lossFn = (): tf.Scalar => {
    const text = tf.reshape(tf.gather(net.word, net.ids), [B, T, d]);
    const emb = tf.concat([tf.broadcastTo(tf.expandDims(net.prompt, 0), [B, m, d]), text], 1);
    let x = layerNorm(
      tf.reshape(tf.add(tf.add(emb, tf.slice(net.pos, [0, 0], [L, d])), net.type0), [B * L, d]),
      net.lnE,
    );
    for (const ly of net.layers) {
      const scores = tf.add(
        tf.mul(tf.matMul(heads(ly.q(x)), heads(ly.k(x)), false, true), 1 / Math.sqrt(Dh)),
        net.maskBias,
      );
      const ctx = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), heads(ly.v(x))), [0, 2, 1, 3]), [B * L, d]);
      const a = layerNorm(tf.add(ly.o(ctx), x), ly.ln1);
      x = layerNorm(tf.add(ly.out(gelu(ly.i(a))), a), ly.ln2);
    }
    const first = tf.reshape(tf.slice(tf.reshape(x, [B, L, d]), [0, 0, 0], [B, 1, d]), [B, d]);
    const [headW, headB] = net.head; // trainable: tfjs's own matMul gradient (8×256×2, the path does not matter)
    return tf.losses.softmaxCrossEntropy(
      net.labels,
      tf.add(tf.matMul(tf.tanh(net.pooler(first)), headW, false, true), headB),
    );
  };
  const params = [net.prompt, ...net.head];
  const slots = params.map((p) => ({ m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) }));
  const lr = 1e-3,
    beta1 = 0.9,
    beta2 = 0.999,
    eps = 1e-8,
    wd = 0.01;
  let t = 0;
  return (): number => {
    t++;
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossFn, params);
      params.forEach((p, i) => {
        const g = grads[p.name]!,
          s = slots[i]!;
        s.m.assign(tf.add(tf.mul(s.m, beta1), tf.mul(g, 1 - beta1)));
        s.v.assign(tf.add(tf.mul(s.v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const mHat = tf.div(s.m, 1 - beta1 ** t),
          vHat = tf.div(s.v, 1 - beta2 ** t);
        p.assign(tf.sub(tf.mul(p, 1 - lr * wd), tf.div(tf.mul(mHat, lr), tf.add(tf.sqrt(vHat), eps))));
      });
      return value;
    });
    const v = loss.dataSync()[0]!;
    loss.dispose();
    return v;
  };
}

const { backendName, wlName, w, steps, warmup } = stepBenchArgs('wasm');
tf.enableProdMode(); // no debug checks, no "install tfjs-node" banner
await registerGradients();
const threadsRequested = Number(arg('threads', '2'));
const env = await initBackend(backendName, threadsRequested, process.argv.includes('--force-threads'));

const step = promptStep(w, process.argv.includes('--naive-linear'));
const t0 = performance.now();
const initialLoss = step();
const firstMs = performance.now() - t0;
let loss = initialLoss;
for (let i = 1; i < warmup; i++) loss = step();
const times: number[] = [];
for (let i = 0; i < steps; i++) {
  const s = performance.now();
  loss = step();
  times.push(performance.now() - s);
}
const ms = median(times);
const backend = `tfjs-${backendName}`;
const result = {
  backend,
  workload: wlName,
  steps,
  threads: env.threads,
  threadsRequested,
  simd: env.simd,
  tfjs: tf.version_core,
  msPerStep: +ms.toFixed(2),
  minMs: +Math.min(...times).toFixed(2),
  firstStepMs: Math.round(firstMs),
  tokensPerS: Math.round((w.batch * (w.seq + w.promptTokens)) / (ms / 1000)),
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  initialLoss,
  loss,
  liveTensors: tf.memory().numTensors,
};
console.log(
  process.argv.includes('--json')
    ? JSON.stringify(result)
    : `${backend} ${wlName}: ${ms.toFixed(1)} ms/step (min ${result.minMs}, ${steps} steps; ${env.threads} thread(s), simd ${env.simd}), ` +
        `${result.tokensPerS} tokens/s, peak RSS ${result.peakRssMiB} MiB, loss ${initialLoss.toFixed(4)} → ${loss.toFixed(4)} (tfjs ${tf.version_core})`,
);
