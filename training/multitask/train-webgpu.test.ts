/**
 * The multitask loop on WebGPU (lavapipe in CI): a two-task run (bert-tiny fixture, FewGLUE RTE + CB,
 * dynamic prompting with the pool shared) for a few steps against the CPU reference backend in f32 with
 * the same seed, task draws and batches. The logged losses (each step's one asynchronous read-back) and
 * the trained parameters of both tasks must match within the tolerances below, and every task is scored.
 * Without an adapter the test is skipped (and says so), except under CI=true, where that fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { treeLeaves } from '../../core/index.ts';
import { NoAdapterError } from '../../core/backend/webgpu/device.ts';
import { createWebGpuBackend } from '../../core/backend/webgpu/index.ts';
import { mergeConfig, type RunConfig } from '../run-config.ts';
import { buildMultitaskModel } from './model.ts';
import { setupMultitaskRun } from './setup.ts';
import { trainMultitask, type MultitaskTrainResult } from './train.ts';

const MODEL = new URL('../../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const DATA = new URL('../../datasets/fewglue', import.meta.url).pathname;
/**
 * |Δ| per logged loss, and per trained parameter after the steps (lr 1e-2; f32 sums in another order),
 * as the single-task WebGPU training test (training/loop-webgpu.test.ts). Measured on lavapipe: 1.2e-7
 * (loss) and 2.7e-6 (a parameter).
 */
const LOSS_TOL = 2e-5;
const PARAM_TOL = 2e-5;
const STEPS = 4;

let available = true;
try {
  (await createWebGpuBackend()).destroy();
} catch (e) {
  if (!(e instanceof NoAdapterError) || process.env['CI'] === 'true') throw e;
  console.log(`SKIP: multitask training on webgpu: ${e.message}`);
  available = false;
}

const tmp = mkdtempSync(join(tmpdir(), 'pg-multitask-webgpu-'));

async function run(backend: RunConfig['backend'], out: string): Promise<MultitaskTrainResult> {
  const c = mergeConfig([
    {
      model: MODEL,
      task: 'RTE,CB',
      data: DATA,
      method: 'dynamic',
      dynamicPosition: 'instance',
      dynamicLength: 'task',
      poolSize: 2,
      share: 'pool',
      mix: 'uniform',
      steps: STEPS,
      evalEvery: STEPS,
      batchSize: 4,
      maxLength: 32,
      promptLength: 3,
      lr: 1e-2,
      clip: 1,
      dropout: false,
      dtype: 'f32',
      backend,
    },
  ]);
  if (E.isLeft(c)) throw new Error(c.left.message);
  const { mt } = await setupMultitaskRun(c.right);
  const small = buildMultitaskModel(
    mt.model,
    mt.tokenizer,
    mt.tasks.map((t) => ({ ...t.data, dev: t.data.dev.slice(0, 8), test: t.data.test.slice(0, 8) })),
    c.right,
  );
  return trainMultitask(small, { out, stream: null });
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

if (available)
  test(`RTE + CB, share pool: ${STEPS} steps on webgpu match the cpu backend (loss ≤ ${LOSS_TOL}, params ≤ ${PARAM_TOL})`, async () => {
    const cpu = await run('cpu', join(tmp, 'cpu'));
    const gpu = await run('webgpu', join(tmp, 'webgpu'));
    const train = (r: MultitaskTrainResult) =>
      r.records.filter((x) => x.split === 'train').map((x) => ({ task: x['task'], loss: x.loss as number }));
    assert.is(train(gpu).length, STEPS);
    assert.equal(
      train(gpu).map((x) => x.task),
      train(cpu).map((x) => x.task),
    );
    assert.is(new Set(train(gpu).map((x) => x.task)).size, 2, 'both tasks drawn');
    const dl = maxDiff(
      train(gpu).map((x) => x.loss),
      train(cpu).map((x) => x.loss),
    );
    assert.ok(dl <= LOSS_TOL, `max |Δloss| ${dl}`);
    const a = treeLeaves(cpu.best),
      b = treeLeaves(gpu.best);
    assert.equal(
      b.map((l) => l.path),
      a.map((l) => l.path),
    );
    for (let i = 0; i < a.length; i++) {
      const d = maxDiff(await b[i]!.leaf.data(), await a[i]!.leaf.data());
      assert.ok(d <= PARAM_TOL, `${a[i]!.path}: max |Δ| ${d}`);
    }
    assert.equal(Object.keys(gpu.test ?? {}), ['RTE', 'CB']);
  });

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
