/**
 * The backend names, option and result types and the software-adapter test that Node's selector
 * (select.ts) and the browser's (select.browser.ts) share; this module imports nothing platform-bound.
 */
import type { Backend } from './backend.ts';
import type { WebGpuOptions } from './webgpu/index.ts';

export const BACKEND_CHOICES = ['cpu', 'wasm', 'webgpu', 'auto'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
/** The backend a choice resolves to. */
export type BackendKind = Exclude<BackendChoice, 'auto'>;

export interface SelectOptions {
  /** wasm: worker threads (0 or absent = one per core). */
  readonly threads?: number;
  /** webgpu: device options (power preference, f16, where the adapter line is logged). */
  readonly webgpu?: WebGpuOptions;
}

export interface SelectedBackend {
  readonly backend: Backend;
  readonly kind: BackendKind;
  /** One line for the user: which backend, on what, and for `auto` why. */
  readonly note: string;
}

export const isBackendChoice = (s: unknown): s is BackendChoice =>
  typeof s === 'string' && (BACKEND_CHOICES as readonly string[]).includes(s);

/** Software rasterisers that expose a WebGPU/Vulkan adapter on the CPU. */
const SOFTWARE_ADAPTER = /\b(software|llvmpipe|lavapipe|swiftshader|fallback)\b/i;
export const isSoftwareAdapter = (adapterInfo: string): boolean => SOFTWARE_ADAPTER.test(adapterInfo);

/** What `auto` learned about WebGPU: the adapter's description, or why there is none. */
export type AdapterProbe = { readonly adapterInfo: string } | { readonly missing: string };

/** `auto`'s rule on a platform with a CPU fast path: WebGPU only on a real GPU, the fast path otherwise. */
export interface AutoChoice {
  readonly kind: 'webgpu' | 'wasm';
  /** Why, for the note: names the adapter. */
  readonly why: string;
}

export function autoChoice(probe: AdapterProbe): AutoChoice {
  if ('missing' in probe) return { kind: 'wasm', why: `no WebGPU adapter (${probe.missing})` };
  if (isSoftwareAdapter(probe.adapterInfo))
    return {
      kind: 'wasm',
      why: `the WebGPU adapter is a software renderer (${probe.adapterInfo}), not a GPU, and slower than wasm on the same cores`,
    };
  return { kind: 'webgpu', why: `a GPU adapter (${probe.adapterInfo})` };
}
