/**
 * The browser's backend selector (package.json "browser" maps select.ts here): the same names and
 * types, without the WASM backend, whose worker pool needs Node's worker_threads. `auto` takes WebGPU
 * when `navigator.gpu` gives an adapter (a software one too: a page has no faster path), else cpu.
 */
import { cpuBackend } from './cpu/index.ts';

export {
  BACKEND_CHOICES,
  isBackendChoice,
  isSoftwareAdapter,
  type BackendChoice,
  type BackendKind,
  type SelectOptions,
  type SelectedBackend,
} from './select-common.ts';
import {
  BACKEND_CHOICES,
  isBackendChoice,
  type BackendChoice,
  type SelectOptions,
  type SelectedBackend,
} from './select-common.ts';

export async function selectBackend(choice: BackendChoice, opts: SelectOptions = {}): Promise<SelectedBackend> {
  if (!isBackendChoice(choice))
    throw new RangeError(
      `selectBackend: unknown backend ${JSON.stringify(choice)}; expected one of ${BACKEND_CHOICES.join(', ')}`,
    );
  if (choice === 'cpu') return { backend: cpuBackend(), kind: 'cpu', note: 'cpu backend (the reference)' };
  if (choice === 'wasm')
    throw new RangeError('selectBackend: the wasm backend runs in Node only (its worker pool needs worker_threads)');
  const { createWebGpuBackend } = await import('./webgpu/index.ts');
  const { NoAdapterError } = await import('./webgpu/device.ts');
  try {
    const backend = await createWebGpuBackend(opts.webgpu);
    return {
      backend,
      kind: 'webgpu',
      note: `${choice === 'auto' ? 'auto: ' : ''}webgpu backend on ${backend.adapterInfo}`,
    };
  } catch (e) {
    if (choice === 'webgpu' || !(e instanceof NoAdapterError)) throw e;
    return { backend: cpuBackend(), kind: 'cpu', note: `auto: cpu backend, because ${e.message}` };
  }
}
