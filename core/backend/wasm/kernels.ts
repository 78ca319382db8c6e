/**
 * The one WASM module the backend instantiates on every thread: its kernels in export order (the
 * pool calls them by index) and the emitter of each.
 */
import { attnDsFn, softmaxRowsFn } from './attention.ts';
import { BINARY_WASM, binaryFn, geluFn } from './elementwise.ts';
import { encodeModule } from './encoder.ts';
import { gemmFn } from './gemm.ts';
import { int8GemmKernel, int8TileRows, type Int8Dot } from './int8-kernel.ts';
import { int8QuantFn } from './int8-quant.ts';
import type { GemmShape } from './gemm-plan.ts';
import { colSumFn, layerNormBwdFn } from './layernorm-backward.ts';
import { layerNormFn, LN_KERNELS } from './layernorm.ts';
import { MAX_PAGES } from './memory.ts';
import { copyRowsFn } from './strided.ts';
import { WA, type WasmModule } from './wasm-api.ts';

/** Exported kernels in module order (the pool calls them by index). */
export const KERNELS = [
  'gemm',
  'softmax_rows',
  'attn_ds',
  'gelu',
  'gelu_grad',
  'gelu_both',
  'copy_rows',
  ...LN_KERNELS,
  ...BINARY_WASM.map((o) => `binary_${o}` as const),
  'int8_quant_rows',
  'int8_gemm',
] as const;
export type Kernel = (typeof KERNELS)[number];
export const FN = Object.fromEntries(KERNELS.map((k, i) => [k, i])) as Record<Kernel, number>;

/**
 * Emits every kernel in KERNELS order (GEMM with the given register tile) and compiles the module.
 * `gemm.fma` says relaxed SIMD is on (wasm-api.ts enableFma): the GEMM, exp and GELU then fuse multiply-adds; `int8Dot` picks the int8 GEMM (int8-kernel.ts).
 */
export function compileKernels(
  gemm: GemmShape,
  int8Dot: Int8Dot,
): { readonly module: WasmModule; readonly arity: readonly number[] } {
  const fns = [
    gemmFn(gemm),
    softmaxRowsFn(gemm.fma),
    attnDsFn(),
    geluFn('gelu', gemm.fma),
    geluFn('grad', gemm.fma),
    geluFn('both', gemm.fma),
    copyRowsFn(),
    layerNormFn(),
    layerNormBwdFn(true),
    layerNormBwdFn(false),
    colSumFn(),
    ...BINARY_WASM.map(binaryFn),
    int8QuantFn(int8TileRows(int8Dot)),
    int8GemmKernel(int8Dot),
  ];
  if (fns.some((f, i) => f.name !== KERNELS[i])) throw new Error('wasm backend: kernel list out of order');
  return { module: new WA.Module(encodeModule(fns, 1, MAX_PAGES)), arity: fns.map((f) => f.params.length) };
}
