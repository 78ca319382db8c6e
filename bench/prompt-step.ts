/**
 * Times the prompt-tuning step (bench/workload.ts: a soft prompt, or prefixes for roberta-large) on one backend.
 *   node --import ./scripts/register.mjs bench/prompt-step.ts --backend wasm [--workload bert-small|bert-base|roberta-large]
 *        [--steps 10] [--warmup 2] [--threads N] [--weights f32|f16|int8] [--rows needed|all] [--profile [--by-shape] [--by-cpu]] [--times] [--json]
 *        [--batch B] [--seq T] [--prompt m]   (override the workload's sizes)
 * Prints ms/step (median after warm-up), tokens/s (the encoder's rows per second: batch·(seq+prompt), or batch·seq with a prefix), peak RSS, and with
 * --weights f16 stores the frozen dense weights as halves (f32 accumulation; WebGPU needs shader-f16). With
 * --rows all computes every row of every layer, as Hugging Face does (default `needed`: no padding rows,
 * and in the last layer only the row the pooled head reads; same loss and gradients). With
 * --profile the per-kernel time shares (a separate profiled pass, so timing is not perturbed).
 */
import { arg, backendByName, median } from './backends.ts';
import { WebGpuBackend } from '../core/backend/webgpu/index.ts';
import { formatProfile, profileBackend } from './profile.ts';
import { buildPromptStep, encoderRows, STEP_ROWS, stepBenchArgs, type StepRows } from './workload.ts';

const { backendName, wlName, w, steps, warmup } = stepBenchArgs('wasm');
const threadsArg = arg('threads', '');
const weights = arg('weights', 'f32');
if (weights !== 'f32' && weights !== 'f16' && weights !== 'int8')
  throw new Error(`--weights: f32 | f16 | int8, got ${weights}`);
const rows = arg('rows', 'needed') as StepRows;
if (!STEP_ROWS.includes(rows)) throw new Error(`--rows: ${STEP_ROWS.join(' | ')}, got ${rows}`);
const bk = await backendByName(backendName, threadsArg ? Number(threadsArg) : undefined);

let peakRss = process.memoryUsage().rss;
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
const timer = setInterval(sampleRss, 20);
timer.unref();

const tokens = w.batch * encoderRows(w);
const run = buildPromptStep(bk, w, { weightStorage: weights, rows });
let loss = 0;
const warmupTimes: number[] = [];
for (let i = 0; i < warmup; i++) {
  const t0 = performance.now();
  loss = await run.step();
  warmupTimes.push(performance.now() - t0);
  sampleRss();
}
const times: number[] = [],
  cpuTimes: number[] = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now(),
    c0 = process.cpuUsage();
  loss = await run.step();
  times.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpuTimes.push((c.user + c.system) / 1000);
  sampleRss();
}
if (process.argv.includes('--times')) console.log(`per step (ms): ${times.map((t) => t.toFixed(0)).join(' ')}`);
run.dispose();
const ms = median(times);
const result = {
  backend: backendName,
  workload: wlName,
  batch: w.batch,
  seq: w.seq,
  prompt: w.promptTokens,
  weights,
  // which kernel ran the int8 products (wasm: relaxed SIMD or not; webgpu: WGSL dot4I8Packed)
  ...(weights === 'int8' ? { weightsKernel: bk.int8Kernel ?? 'none' } : {}),
  rows,
  steps,
  threads: threadsArg || 'default',
  node: process.version,
  msPerStep: +ms.toFixed(2),
  minMs: +Math.min(...times).toFixed(2),
  // the process's CPU time per step (every thread's, spin-waits included): with --threads 1 a measure of
  // the work that a loaded machine disturbs far less than the wall clock
  cpuMsPerStep: +median(cpuTimes).toFixed(2),
  tokensPerS: Math.round(tokens / (ms / 1000)),
  peakRssMiB: Math.round(peakRss / 2 ** 20),
  loss,
  // the warm-up steps (ms): the first pays for module set-up, the next ~10 for V8 tiering the JavaScript up
  warmupMs: warmupTimes.map((t) => Math.round(t)),
  // WebGPU: every storage buffer the pool ever created (it keeps freed ones), an upper bound of the peak
  ...(bk instanceof WebGpuBackend ? { gpuStorageMiB: Math.round(bk.rt.createdBytes / 2 ** 20) } : {}),
};
console.log(
  process.argv.includes('--json')
    ? JSON.stringify(result)
    : `${backendName} ${wlName}${weights === 'f32' ? '' : ` ${weights} weights${weights === 'int8' ? ` [${bk.int8Kernel ?? 'none'}]` : ''}`}: ${ms.toFixed(1)} ms/step (min ${result.minMs}, ${steps} steps), ${result.tokensPerS} tokens/s, peak RSS ${result.peakRssMiB} MiB${'gpuStorageMiB' in result ? `, GPU storage ${result.gpuStorageMiB} MiB` : ''}, loss ${loss.toFixed(4)}`,
);

if (process.argv.includes('--profile')) {
  const prof = profileBackend(bk, process.argv.includes('--by-shape'));
  const p = buildPromptStep(prof.backend, w, { weightStorage: weights, rows });
  await p.step();
  prof.reset();
  const n = Math.max(1, Math.min(steps, 3));
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await p.step();
  const c = process.cpuUsage(c0);
  p.dispose();
  console.log(
    `step CPU time ${((c.user + c.system) / 1000 / n).toFixed(1)} ms/step (kernels and everything between them)`,
  );
  console.log(formatProfile(prof.stats, n, 0.005, process.argv.includes('--by-cpu')));
}
bk.dispose?.();
