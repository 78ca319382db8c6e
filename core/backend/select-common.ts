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
