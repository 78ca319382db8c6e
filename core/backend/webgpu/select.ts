/**
 * Picking a backend by name. 'auto' takes WebGPU when an adapter exists and says which one it took;
 * only a missing adapter sends it to the CPU (and the note says so). Any other WebGPU failure is
 * thrown, never papered over with a silent CPU fallback.
 */
import type { Backend } from '../backend.ts';
import { cpuBackend } from '../cpu/index.ts';
import { NoAdapterError } from './device.ts';
import { createWebGpuBackend, type WebGpuOptions } from './index.ts';

export type BackendChoice = 'cpu' | 'webgpu' | 'auto';

export async function selectBackend(
  choice: BackendChoice,
  opts: WebGpuOptions = {},
): Promise<{ backend: Backend; note: string }> {
  if (choice === 'cpu') return { backend: cpuBackend(), note: 'cpu backend (requested)' };
  if (choice === 'webgpu') {
    const backend = await createWebGpuBackend(opts);
    return { backend, note: `webgpu backend (requested) on ${backend.adapterInfo}` };
  }
  try {
    const backend = await createWebGpuBackend(opts);
    return { backend, note: `auto: webgpu backend on ${backend.adapterInfo}` };
  } catch (e) {
    if (!(e instanceof NoAdapterError)) throw e;
    return { backend: cpuBackend(), note: `auto: cpu backend, because ${e.message}` };
  }
}
