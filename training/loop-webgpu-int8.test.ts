/**
 * Training with int8 frozen weights on WebGPU (WGSL dot4I8Packed, lavapipe in CI): the bert-tiny fixture
 * on FewGLUE RTE, soft prompt, 3 steps, against the WASM backend's int8 run with the same seed and
 * batches. Both backends' int8 products are the oracle's (core/tensor/int8.ts) bit for bit, but the f32
 * ops around them (attention, LayerNorm, GELU, sums) round in other orders, and a row's codes are
 * round(g·127/max|g|): an activation that moves by an ulp across a rounding boundary moves its code by
 * one level (max|g|/127). The tolerances below allow that (measured on lavapipe: see the constants).
 * Also: without the WGSL feature the run setup falls back to f16 weights and says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { treeLeaves } from '../core/index.ts';
import { NoAdapterError } from '../core/backend/webgpu/device.ts';
import { createWebGpuBackend, WebGpuBackend } from '../core/backend/webgpu/index.ts';
import { train, type TrainResult } from './loop.ts';
import { mergeConfig, type RunConfig } from './run-config.ts';
import { setupRun, weightStorageFor } from './run-setup.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const DATA = new URL('../datasets/fewglue', import.meta.url).pathname;
/** |Δ| per logged loss and per trained parameter after 3 steps (lr 1e-2). Measured on lavapipe (2026-12-07): 6.0e-8, 6.4e-7. */
const LOSS_TOL = 1e-4;
const PARAM_TOL = 1e-4;

let int8Gpu = true;
try {
  const g = await createWebGpuBackend({ log: () => {} });
  int8Gpu = g.int8Refusal === undefined;
  if (!int8Gpu) console.log(`SKIP: int8 training on webgpu: ${g.int8Refusal}`);
  g.destroy();
} catch (e) {
  if (!(e instanceof NoAdapterError) || process.env['CI'] === 'true') throw e;
  console.log(`SKIP: int8 training on webgpu: ${e.message}`);
  int8Gpu = false;
}

const tmp = mkdtempSync(join(tmpdir(), 'pg-loop-webgpu-int8-'));

async function run(backend: 'wasm' | 'webgpu', out: string): Promise<{ r: TrainResult; weights: string }> {
  const c = mergeConfig([
    {
      model: MODEL,
      task: 'RTE',
      data: DATA,
      steps: 3,
      evalEvery: 3,
      batchSize: 4,
      maxLength: 32,
      promptLength: 4,
      lr: 1e-2,
      dropout: false,
      dtype: 'f32',
      weights: 'int8',
      method: 'soft',
      backend,
    } satisfies Partial<RunConfig>,
  ]);
  if (E.isLeft(c)) throw new Error(c.left.message);
  const s = await setupRun(c.right);
  const task = { ...s.task, dev: s.task.dev.slice(0, 8), test: s.task.test.slice(0, 8) };
  return { r: await train(s.tm, task, { out, stream: null }), weights: s.weights };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

test('without WGSL dot4I8Packed, --weights int8 on webgpu runs f16 (or f32) and says so', async () => {
  let plain;
  try {
    plain = await createWebGpuBackend({ log: () => {}, int8: false });
  } catch (e) {
    if (!(e instanceof NoAdapterError) || process.env['CI'] === 'true') throw e;
    return;
  }
  try {
    const got = weightStorageFor(plain, 'int8');
    assert.is(got.weights, plain.dtypes.has('f16') ? 'f16' : 'f32');
    assert.match(
      got.note ?? '',
      /--weights int8 not run: .*packed_4x8_integer_dot_product.*frozen weights are f(16|32) instead/,
    );
    assert.equal(weightStorageFor(plain, 'f32'), { weights: 'f32' });
  } finally {
    plain.destroy();
  }
});

if (int8Gpu) {
  test(`soft prompt, int8 weights: 3 steps on webgpu match wasm int8 (loss ≤ ${LOSS_TOL}, params ≤ ${PARAM_TOL})`, async () => {
    const wasm = await run('wasm', join(tmp, 'wasm'));
    const gpu = await run('webgpu', join(tmp, 'webgpu'));
    assert.is(gpu.weights, 'int8', 'webgpu ran the int8 path');
    const losses = (r: TrainResult) => r.records.filter((x) => x.split === 'train').map((x) => x.loss as number);
    assert.is(losses(gpu.r).length, 3);
    const dl = maxDiff(losses(gpu.r), losses(wasm.r));
    const a = treeLeaves(wasm.r.best),
      b = treeLeaves(gpu.r.best);
    assert.equal(
      b.map((l) => l.path),
      a.map((l) => l.path),
    );
    let dp = 0;
    for (let i = 0; i < a.length; i++) dp = Math.max(dp, maxDiff(await b[i]!.leaf.data(), await a[i]!.leaf.data()));
    // one device at a time, none left at exit (Dawn is fragile when a process exits with devices alive)
    const gpuBackend = b[0]!.leaf.backend;
    if (gpuBackend instanceof WebGpuBackend) gpuBackend.destroy();
    console.log(
      `webgpu int8 vs wasm int8, 3 steps: max |Δloss| ${dl.toExponential(2)}, max |Δparam| ${dp.toExponential(2)}`,
    );
    assert.ok(dl <= LOSS_TOL, `max |Δloss| ${dl}`);
    assert.ok(dp <= PARAM_TOL, `max |Δparam| ${dp}`);
  });
}

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
