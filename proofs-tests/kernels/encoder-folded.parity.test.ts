/**
 * The folded last-layer attention (models/bert/attention-folded.ts) on WebGPU and with each frozen-weight
 * storage: the fold on against off on the same backend and storage (f32 accumulation, so the encoder
 * tolerance of cli/verify-hf, atol 1e-4 and rtol 1e-3; int8 within its quantization noise, since the fold
 * quantizes the query side instead of the rows), and WebGPU's fold against the CPU's f64 plain path. The
 * fold's key products run backwards through the weight (y·W), a product the plain encoder never runs
 * forward, so each storage and backend needs its own check. A storage the adapter lacks (shader-f16, the
 * packed 4×8-bit dot) prints SKIP.
 */
import * as assert from 'uvu/assert';
import { createWasmBackend } from '../../core/backend/wasm/index.ts';
import type { Backend } from '../../core/index.ts';
import type { WeightStorage } from '../../models/bert/modules.ts';
import { fixtureModel } from '../../models/bert/testing/hf-fixture.ts';
import { foldRun, type FoldRun } from '../../models/bert/testing/folded-run.ts';
import { expectWithin } from '../../models/bert/testing/within.ts';
import { cpu, gpuSuite } from './harness.ts';

const { test, gpu } = await gpuSuite('folded attention');
const wasm = createWasmBackend({ threads: 2 });
test.after(() => wasm.dispose());

const CASE = { skipPadding: true, keyWeights: true };

const cosine = (a: Float64Array, b: Float64Array): number => {
  let ab = 0,
    aa = 0,
    bb = 0;
  a.forEach((x, i) => {
    ab += x * b[i]!;
    aa += x * x;
    bb += b[i]! ** 2;
  });
  return ab / Math.sqrt(aa * bb);
};

/** Fold on and off on `bk` with `storage`, or undefined (SKIP printed) where the backend refuses the storage. */
async function both(bk: Backend, storage: WeightStorage): Promise<{ folded: FoldRun; plain: FoldRun } | undefined> {
  let model;
  try {
    model = fixtureModel('bert-tiny', bk, 'f32', { weightStorage: storage });
  } catch (e) {
    console.log(`SKIP: folded attention, ${storage} weights on ${bk.name}: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
  const folded = await foldRun(bk, model, 'bert-tiny', 'f32', CASE, true),
    plain = await foldRun(bk, model, 'bert-tiny', 'f32', CASE, false);
  model.dispose();
  return { folded, plain };
}

const backends = (): Backend[] => [wasm, ...(gpu ? [gpu] : [])];

for (const storage of ['f32', 'f16'] as const)
  test(`${storage} weights: fold = plain path on wasm${gpu ? ' and webgpu' : ''}`, async () => {
    for (const bk of backends()) {
      const r = await both(bk, storage);
      if (!r) continue;
      expectWithin(`${bk.name} ${storage} loss`, [r.folded.loss], [r.plain.loss], 1e-4, 1e-3);
      expectWithin(`${bk.name} ${storage} d/d inputs_embeds`, r.folded.e, r.plain.e, 1e-4, 1e-3);
      expectWithin(`${bk.name} ${storage} d/d keyWeights`, r.folded.kw!, r.plain.kw!, 1e-4, 1e-3);
    }
  });

test(`int8 weights: fold within the quantization noise of the plain path on wasm${gpu ? ' and webgpu' : ''}`, async () => {
  for (const bk of backends()) {
    const r = await both(bk, 'int8');
    if (!r) continue;
    const cos = cosine(r.folded.e, r.plain.e);
    assert.ok(Math.abs(r.folded.loss - r.plain.loss) <= 0.02 * Math.abs(r.plain.loss), `${bk.name} loss`);
    assert.ok(cos > 0.999, `${bk.name}: gradient cosine ${cos}`);
  }
});

test("WebGPU's fold against the CPU's f64 plain path (f32 weights)", async () => {
  if (!gpu) return;
  const ref = fixtureModel('bert-tiny', cpu, 'f64'),
    model = fixtureModel('bert-tiny', gpu, 'f32');
  const want = await foldRun(cpu, ref, 'bert-tiny', 'f64', CASE, false),
    got = await foldRun(gpu, model, 'bert-tiny', 'f32', CASE, true);
  expectWithin('loss', [got.loss], [want.loss], 1e-4, 1e-3);
  expectWithin('d/d inputs_embeds', got.e, want.e, 1e-4, 1e-3);
  ref.dispose();
  model.dispose();
});

test.run();
