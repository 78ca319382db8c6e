/**
 * Acquiring a WebGPU adapter and device, with errors that say what to install: through Dawn (npm
 * `webgpu`) in Node, `navigator.gpu` in a browser (platform-gpu.ts / platform-gpu.browser.ts).
 */
import { NO_ADAPTER_HINT, platformGpu, START_FAILURE } from './platform-gpu.ts';
import { INT8_WGSL_FEATURE } from '../../../kernels/wgsl/int8.ts';

export class NoAdapterError extends Error {
  override readonly name = 'NoAdapterError';
  constructor(detail: string) {
    super(`no WebGPU adapter found (${detail}). ${NO_ADAPTER_HINT}`);
  }
}

export interface DeviceOptions {
  readonly powerPreference?: GPUPowerPreference;
  /** Where the one-line adapter description goes (default console.log; pass () => {} to silence). */
  readonly log?: (line: string) => void;
  /**
   * Request the adapter feature `shader-f16` (f16 weight storage) when the adapter has it: default
   * true. false never requests it, so a device behaves as on an adapter without it (and tests can
   * check that path's errors on any adapter).
   */
  readonly f16?: boolean;
  /**
   * Use the WGSL language feature `packed_4x8_integer_dot_product` (int8 weight storage) when the
   * platform has it: default true. false behaves as without it (int8 products are then refused).
   */
  readonly int8?: boolean;
}

export interface Acquired {
  readonly device: GPUDevice;
  /**
   * The Dawn instance and adapter. Hold them as long as the device: if the GPU object is collected
   * while its device lives, the binding crashes (segfault / futex abort inside mapAsync).
   */
  readonly owners: readonly [GPU, GPUAdapter];
  readonly info: string;
  readonly limits: GPUSupportedLimits;
  /** Whether the device has `shader-f16`. */
  readonly f16: boolean;
  /** Whether WGSL has `dot4I8Packed` here (the language feature packed_4x8_integer_dot_product). */
  readonly int8: boolean;
}

// the limits kernels specialise on; requested at the adapter's maximum
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
] as const;

let logged = false;

export async function acquireDevice(opts: DeviceOptions = {}): Promise<Acquired> {
  let gpu: GPU;
  try {
    gpu = platformGpu();
  } catch (e) {
    throw new NoAdapterError(`${START_FAILURE}: ${(e as Error).message}`);
  }
  const adapter = await gpu.requestAdapter(
    opts.powerPreference ? { powerPreference: opts.powerPreference } : undefined,
  );
  if (!adapter) throw new NoAdapterError('navigator.gpu.requestAdapter() returned null');
  const i = adapter.info;
  const info = [i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(' / ') || 'unnamed adapter';
  if (!logged) {
    logged = true;
    (opts.log ?? console.log)(`webgpu: adapter ${info}`);
  }
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) requiredLimits[k] = adapter.limits[k];
  const requiredFeatures: GPUFeatureName[] =
    opts.f16 !== false && adapter.features.has('shader-f16') ? ['shader-f16'] : [];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'promptgrad' });
  // a language feature of the platform's WGSL (not an adapter feature); older browsers lack the set
  const int8 = opts.int8 !== false && (gpu.wgslLanguageFeatures?.has(INT8_WGSL_FEATURE) ?? false);
  return {
    device,
    owners: [gpu, adapter],
    info,
    limits: device.limits,
    f16: device.features.has('shader-f16'),
    int8,
  };
}
