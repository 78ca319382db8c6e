/**
 * The page's own check that its WebGPU gradients are right: the same task model (encoder, prompt,
 * head) on the CPU reference backend and on WebGPU, the same parameters and batch, eval mode (no
 * dropout); the gradient of the loss with respect to every trainable tensor is compared.
 */
import { cpuBackend, tensor, treeLeaves, treeMap, valueAndGrad, type Backend, type Tensor } from '../browser.ts';
import { Session, type SessionOptions } from './session.ts';

export interface ParityReport {
  readonly losses: readonly [cpu: number, gpu: number];
  /** Per trainable tensor: max |g_gpu − g_cpu| and that over max |g_cpu|. */
  readonly tensors: readonly { readonly path: string; readonly maxAbs: number; readonly maxRel: number }[];
  readonly maxAbs: number;
  readonly maxRel: number;
}

async function gradients(s: Session, params: unknown, n: number): Promise<[number, Map<string, Float32Array>]> {
  const b = s.tm.batch(s.task.train.slice(0, n));
  const [loss, grads] = valueAndGrad((p: typeof s.chosen.params) => s.tm.loss(p, b)[0])(
    params as typeof s.chosen.params,
  );
  const out = new Map<string, Float32Array>();
  for (const { path, leaf } of treeLeaves(grads)) out.set(path, Float32Array.from(await leaf.data()));
  return [(await loss.data())[0]!, out];
}

/** Runs both backends on the first `batch` training examples and compares the gradients. */
export async function gradientParity(
  o: Omit<SessionOptions, 'backend'>,
  gpu: Backend,
  batch = 8,
): Promise<ParityReport> {
  const cpu = await Session.open({ ...o, backend: cpuBackend() });
  const gs = await Session.open({ ...o, backend: gpu });
  const p0 = cpu.chosen.params;
  const hostOf = new Map<string, Tensor>();
  for (const { path, leaf } of treeLeaves(p0))
    hostOf.set(path, tensor(gpu, await leaf.data(), { shape: leaf.shape, dtype: leaf.dtype }));
  const pGpu = treeMap(p0, (_, path) => hostOf.get(path)!);
  const [lc, gc] = await gradients(cpu, p0, batch);
  const [lg, gg] = await gradients(gs, pGpu, batch);
  const tensors = [...gc].map(([path, a]) => {
    const b = gg.get(path);
    if (!b || b.length !== a.length) throw new Error(`gradient ${path}: missing or of another size on WebGPU`);
    let maxAbs = 0,
      scale = 0;
    for (let i = 0; i < a.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(a[i]!));
    }
    return { path, maxAbs, maxRel: maxAbs / Math.max(scale, 1e-30) };
  });
  return {
    losses: [lc, lg],
    tensors,
    maxAbs: Math.max(...tensors.map((t) => t.maxAbs)),
    maxRel: Math.max(...tensors.map((t) => t.maxRel)),
  };
}
