/**
 * Picking a backend by name, typed and checked at run time (an unknown name throws, naming the choices).
 * - `cpu`: the TypeScript reference (f64 and f32), the oracle of the tests; slow.
 * - `wasm`: the multi-threaded WebAssembly-SIMD fast path on the CPU (f32; `threads`, 0 = one per core).
 * - `webgpu`: the WGSL kernels on the first WebGPU adapter, whatever it is (a software one included).
 * - `auto`: WebGPU on a real GPU; otherwise wasm. A software adapter (Mesa's lavapipe / llvmpipe,
 *   SwiftShader, a fallback adapter) is not a GPU: it is slower than wasm on the same cores. The note
 *   says which backend was taken and why. Only a missing adapter or a software one sends `auto` to
 *   wasm; any other WebGPU failure is thrown, never papered over with a silent CPU fallback.
 * The WebGPU and WASM modules load only when chosen.
 */
import { cpuBackend } from './cpu/index.ts';

export {
  autoChoice,
  BACKEND_CHOICES,
  isBackendChoice,
  isSoftwareAdapter,
  type BackendChoice,
  type BackendKind,
  type SelectOptions,
  type SelectedBackend,
} from './select-common.ts';
import {
  autoChoice,
  BACKEND_CHOICES,
  isBackendChoice,
  type BackendChoice,
  type SelectOptions,
  type SelectedBackend,
} from './select-common.ts';

async function wasm(threads: number | undefined, why: string): Promise<SelectedBackend> {
  const { createWasmBackend } = await import('./wasm/index.ts');
  const backend = createWasmBackend(threads !== undefined && threads > 0 ? { threads } : {});
  const how = `${backend.threads} thread${backend.threads === 1 ? '' : 's'}, ${backend.gemmShape.fma ? 'FMA' : 'mul+add'} GEMM`;
  return { backend, kind: 'wasm', note: `${why}wasm backend (${how})` };
}

/** The backend named by `choice` (see the module comment). */
export async function selectBackend(choice: BackendChoice, opts: SelectOptions = {}): Promise<SelectedBackend> {
  if (!isBackendChoice(choice))
    throw new RangeError(
      `selectBackend: unknown backend ${JSON.stringify(choice)}; expected one of ${BACKEND_CHOICES.join(', ')}`,
    );
  if (choice === 'cpu') return { backend: cpuBackend(), kind: 'cpu', note: 'cpu backend (the reference)' };
  if (choice === 'wasm') return wasm(opts.threads, '');
  const { createWebGpuBackend } = await import('./webgpu/index.ts');
  const { NoAdapterError } = await import('./webgpu/device.ts');
  if (choice === 'webgpu') {
    const backend = await createWebGpuBackend(opts.webgpu);
    return { backend, kind: 'webgpu', note: `webgpu backend on ${backend.adapterInfo}` };
  }
  let backend;
  try {
    backend = await createWebGpuBackend({ log: () => {}, ...opts.webgpu });
  } catch (e) {
    if (!(e instanceof NoAdapterError)) throw e;
    return wasm(opts.threads, `auto: ${autoChoice({ missing: e.message }).why}, so the `);
  }
  const auto = autoChoice({ adapterInfo: backend.adapterInfo });
  if (auto.kind === 'wasm') {
    backend.destroy();
    return wasm(opts.threads, `auto: ${auto.why}, so the `);
  }
  return { backend, kind: 'webgpu', note: `auto: webgpu backend on ${auto.why}` };
}
