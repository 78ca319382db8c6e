/**
 * Front-end parity on WebGPU: valueAndGrad of a small embedding → MLP → layerNorm → linear →
 * softmax-cross-entropy loss (gather/scatterAdd, matmul NN/NT/TN, gelu, layerNorm fwd+bwd, logSoftmax,
 * reductions, broadcasting) in f32 on the GPU vs f64 on the CPU; then memory: after scoped
 * valueAndGrad + AdamW steps `live()` is back at its baseline. Also: compile errors are reported
 * with the kernel name, line numbers and source, and `readSync` is refused.
 */
import {
  add,
  crossEntropy,
  gather,
  gelu,
  layerNorm,
  linear,
  matmul,
  mean,
  scope,
  softmax,
  sum,
  tensor,
  valueAndGrad,
  zerosLike,
  type Backend,
  type Tensor,
} from '../../core/index.ts';
import type { WebGpuBackend } from '../../core/backend/webgpu/index.ts';
import { ParamWriter, type Program } from '../../kernels/wgsl/common.ts';
import { expectClose } from '../support/close.ts';
import { cpu, gpuSuite, ints, values } from './harness.ts';

const { test, gpu } = await gpuSuite('front-end gradients / memory on webgpu');

const V = 11,
  D = 6,
  H = 16,
  C = 5,
  B = 9;
type Params = { emb: Tensor; w1: Tensor; b1: Tensor; lnW: Tensor; lnB: Tensor; w2: Tensor; b2: Tensor };

function makeParams(bk: Backend): Params {
  const dt = bk.name === 'cpu' ? 'f64' : 'f32';
  const t = (seed: number, shape: number[], lo = -0.8, hi = 0.8) =>
    tensor(
      bk,
      values(
        seed,
        shape.reduce((a, b) => a * b, 1),
        lo,
        hi,
      ),
      { shape, dtype: dt },
    );
  return {
    emb: t(1, [V, D]),
    w1: t(2, [D, H]),
    b1: t(3, [H]),
    lnW: t(4, [H], 0.5, 1.5),
    lnB: t(5, [H]),
    w2: t(6, [C, H]),
    b2: t(7, [C]),
  };
}

function loss(p: Params, ids: Tensor, labels: Tensor): Tensor {
  const x = gather(p.emb, ids); // [B, D]
  const h = layerNorm(gelu(add(matmul(x, p.w1), p.b1)), p.lnW, p.lnB, 1e-5);
  const logits = linear(h, p.w2, p.b2); // [B, C] via NT matmul
  const attn = softmax(matmul(h, h, false, true)); // [B, B] extra softmax path
  return add(crossEntropy(logits, labels), mean(sum(matmul(attn, h), -1)));
}

async function run(bk: Backend) {
  const p = makeParams(bk);
  const ids = tensor(bk, ints(9, B, 0, V), { shape: [B], dtype: 'i32' });
  const labels = tensor(bk, ints(10, B, 0, C), { shape: [B], dtype: 'i32' });
  const [l, grads] = valueAndGrad(loss)(p, ids, labels);
  const out: Record<string, ArrayLike<number>> = { loss: await l.data() };
  for (const [k, v] of Object.entries(grads)) out[k] = await v.data();
  return out;
}

if (gpu) {
  const g = gpu;

  test('valueAndGrad of MLP + layerNorm + softmax cross-entropy: WebGPU f32 vs CPU f64', async () => {
    const [ref, got] = [await run(cpu), await run(g)];
    for (const k of Object.keys(ref)) expectClose(got[k]!, ref[k]!, { atol: 2e-5, rtol: 1e-3 }, `grad ${k}`);
  });

  test('memory: scoped valueAndGrad + AdamW steps return live() to its baseline', async () => {
    const p = makeParams(g);
    const ids = tensor(g, ints(9, B, 0, V), { shape: [B], dtype: 'i32' });
    const labels = tensor(g, ints(10, B, 0, C), { shape: [B], dtype: 'i32' });
    const m = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, zerosLike(v)])) as Params;
    const v = Object.fromEntries(Object.entries(p).map(([k, t]) => [k, zerosLike(t)])) as Params;
    const baseline = g.live();
    const losses: number[] = [];
    for (let step = 1; step <= 6; step++) {
      const l = scope(g, () => {
        const [value, grads] = valueAndGrad(loss)(p, ids, labels);
        for (const k of Object.keys(p) as (keyof Params)[]) {
          g.adamw(p[k], grads[k], m[k], v[k], { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step });
        }
        return value;
      });
      losses.push(await l.item());
      l.dispose();
      if (g.live() !== baseline) throw new Error(`step ${step}: live() ${g.live()} vs baseline ${baseline}`);
    }
    if (!(losses.at(-1)! < losses[0]!)) throw new Error(`AdamW did not reduce the loss: ${losses.join(', ')}`);
  });

  test('a WGSL compile error names the kernel, the line and shows the source', async () => {
    const bad: Program = {
      name: 'broken',
      key: 'test/broken',
      workgroups: [1, 1, 1],
      params: new ParamWriter().done(),
      wgsl: () =>
        '@group(0) @binding(0) var<storage, read_write> out: array<f32>;\n@compute @workgroup_size(1)\nfn main() {\n  out[0] = undefined_thing;\n}',
    };
    const b = await import('../../core/backend/webgpu/index.ts').then((m) => m.createWebGpuBackend({ log: () => {} }));
    try {
      const id = b.rt.alloc(4);
      b.rt.run(bad, [], [id]);
      let msg = '';
      try {
        await b.flush();
      } catch (e) {
        msg = (e as Error).message;
      }
      for (const want of ['broken', 'test/broken', 'line 4', 'undefined_thing', '   4| ']) {
        if (!msg.includes(want)) throw new Error(`compile error message lacks ${JSON.stringify(want)}:\n${msg}`);
      }
      let sync = '';
      try {
        b.readSync({ id, shape: [1], dtype: 'f32' });
      } catch (e) {
        sync = (e as Error).name;
      }
      if (sync !== 'UnsupportedOp') throw new Error(`readSync: expected UnsupportedOp, got ${sync}`);
    } finally {
      b.destroy();
    }
  });

  test("selectBackend: 'webgpu' takes any adapter; 'auto' leaves a software one for wasm and says why", async () => {
    const { selectBackend, isSoftwareAdapter } = await import('../../core/backend/select.ts');
    const gpu = await selectBackend('webgpu', { webgpu: { log: () => {} } });
    const software = isSoftwareAdapter((gpu.backend as WebGpuBackend).adapterInfo);
    (gpu.backend as WebGpuBackend).destroy();
    if (gpu.kind !== 'webgpu' || gpu.backend.name !== 'webgpu') throw new Error(`webgpu gave ${gpu.note}`);
    const auto = await selectBackend('auto', { threads: 1 });
    try {
      const want = software ? 'wasm' : 'webgpu';
      if (auto.kind !== want || (software && !/software renderer/.test(auto.note)))
        throw new Error(`auto gave ${auto.kind}: ${auto.note}`);
    } finally {
      (auto.backend as { destroy?: () => void }).destroy?.();
    }
    const c = await selectBackend('cpu');
    if (c.backend.name !== 'cpu') throw new Error(c.note);
    const unknown = await selectBackend('tpu' as 'cpu').then(
      () => 'accepted',
      (e: unknown) => String(e),
    );
    if (!/unknown backend "tpu"; expected one of cpu, wasm, webgpu, auto/.test(unknown)) throw new Error(unknown);
  });
}

test.run();
