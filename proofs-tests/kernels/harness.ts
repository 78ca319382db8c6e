/**
 * Shared plumbing of the WebGPU parity suite: acquire the GPU (or print `SKIP:` — except under
 * CI=true, where a missing adapter fails), build the same inputs on the CPU reference (f64) and on
 * WebGPU (f32, values already rounded to f32 so both sides see identical numbers), and compare with
 * `atol + rtol·|ref|` (proofs-tests/support/close.ts).
 */
import { suite, type Test } from 'uvu';
import { cpuBackend, tensor, type Backend, type Tensor } from '../../core/index.ts';
import {
  createWebGpuBackend,
  NoAdapterError,
  type WebGpuBackend,
  type WebGpuOptions,
} from '../../core/backend/webgpu/index.ts';
import { expectClose, type Tol } from '../support/close.ts';
import { seededValues } from '../support/seeded.ts';

export const cpu = cpuBackend();

/** fast-check settings: small (lavapipe dispatch is slow-ish), seeded so failures replay. */
export const RUNS = (numRuns: number) => ({ numRuns, seed: 20240611 });

/**
 * A uvu suite bound to a WebGPU backend; with no adapter it registers nothing, prints `SKIP: …`, and
 * exits cleanly — unless CI=true, where the missing adapter is a failure. The device is destroyed
 * after the suite so the process can exit.
 */
export async function gpuSuite(
  name: string,
  opts: WebGpuOptions = {},
): Promise<{ test: Test; gpu: WebGpuBackend | undefined }> {
  const test = suite(name);
  let gpu: WebGpuBackend | undefined;
  try {
    gpu = await createWebGpuBackend({ log: () => {}, ...opts });
  } catch (e) {
    if (!(e instanceof NoAdapterError) || process.env['CI'] === 'true') {
      test('webgpu adapter', () => {
        throw e;
      });
      return { test, gpu: undefined };
    }
    // no test.skip: uvu leaves skipped tests out of Total, which scripts/test.mjs would count as −1 failures
    console.log(`SKIP: ${name}: ${e.message}`);
    return { test, gpu: undefined };
  }
  const g = gpu;
  test.after(() => g.destroy());
  return { test, gpu };
}

/** Deterministic values in [lo, hi), rounded to f32 (mulberry32). */
export const values = seededValues;

export function ints(seed: number, n: number, lo: number, hi: number): Int32Array {
  return Int32Array.from(values(seed, n, 0, 1), (u) => lo + Math.min(hi - lo - 1, Math.floor(u * (hi - lo))));
}

/** The same data as an f64 CPU tensor (reference) and an f32 GPU tensor; i32 stays i32 on both. */
export function pair(gpu: Backend, data: Float32Array | Int32Array, shape: readonly number[]): [Tensor, Tensor] {
  if (data instanceof Int32Array)
    return [tensor(cpu, data, { shape, dtype: 'i32' }), tensor(gpu, data, { shape, dtype: 'i32' })];
  return [tensor(cpu, Float64Array.from(data), { shape, dtype: 'f64' }), tensor(gpu, data, { shape, dtype: 'f32' })];
}

/** Reads the GPU result and compares it (shape and values) with the CPU reference. */
export async function expectParity(got: Tensor, ref: Tensor, tol: Tol, label: string): Promise<void> {
  if (got.shape.join(',') !== ref.shape.join(',')) {
    throw new Error(`${label}: shape [${got.shape.join(', ')}] vs reference [${ref.shape.join(', ')}]`);
  }
  if (got.dtype !== (ref.dtype === 'f64' ? 'f32' : ref.dtype))
    throw new Error(`${label}: dtype ${got.dtype} vs reference ${ref.dtype}`);
  // an f32 kernel is held to the f64 reference rounded to f32 (so 1e30² is ∞ on both sides)
  const r = ref.dataSync();
  expectClose(await got.data(), ref.dtype === 'f64' ? Float32Array.from(r) : r, tol, label);
  got.dispose();
  ref.dispose();
}

export const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
