/**
 * Shared plumbing of the WASM parity suite: one WASM backend (2 threads, so the worker path runs
 * even on a 1-core box) held to the CPU reference in f64; inputs are rounded to f32 first so both
 * sides see identical numbers; compared with atol + rtol·|ref| (proofs-tests/support/close.ts).
 */
import { cpuBackend, tensor, type Tensor } from '../../core/index.ts';
import { createWasmBackend } from '../../core/backend/wasm/index.ts';
import { expectClose, type Tol } from '../support/close.ts';
import { seededValues } from '../support/seeded.ts';

export const cpu = cpuBackend();
export const wasm = createWasmBackend({ threads: 2 });

/** fast-check settings, seeded so failures replay. */
export const RUNS = (numRuns: number) => ({ numRuns, seed: 20260611 });

/** Deterministic values in [lo, hi), rounded to f32 (mulberry32). */
export const values = seededValues;

export const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** The same data as an f64 CPU tensor (reference) and an f32 WASM tensor. */
export function pair(data: Float32Array, shape: readonly number[]): [Tensor, Tensor] {
  return [tensor(cpu, Float64Array.from(data), { shape, dtype: 'f64' }), tensor(wasm, data, { shape, dtype: 'f32' })];
}

export function expectParity(got: Tensor, ref: Tensor, tol: Tol, label: string): void {
  if (got.shape.join(',') !== ref.shape.join(','))
    throw new Error(`${label}: shape [${got.shape}] vs reference [${ref.shape}]`);
  if (got.dtype !== 'f32') throw new Error(`${label}: dtype ${got.dtype}, expected f32`);
  expectClose(got.dataSync(), ref.dataSync(), tol, label);
  got.dispose();
  ref.dispose();
}
