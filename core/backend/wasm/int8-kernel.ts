/**
 * Which of the three int8 GEMMs the WASM backend compiles. All three give the same bits (the oracle's,
 * core/tensor/int8.ts), so the choice is speed only:
 * - 'widened' (int8-gemm.ts): no relaxed SIMD; both operands widened to i16.
 * - 'paired' (int8-gemm-relaxed.ts): relaxed SIMD's i16 dot, widened once per two k-blocks; the fastest
 *   where the fused dot is not one instruction.
 * - 'vnni' (int8-gemm.ts, 'fused'): i32x4.relaxed_dot_i8x16_i7x16_add_s, which V8 13.6 (Node 24) lowers to
 *   one AVX-VNNI vpdpbusd: 16 multiply-adds into i32 lanes in one instruction (bert-small's 620×256·256:
 *   0.42 ms against 'paired' 0.70, one thread). Chosen only where V8 ≥ 13.6 and /proc/cpuinfo lists
 *   avx_vnni (the VEX form V8 emits); elsewhere V8 lowers it to pmaddubsw + pmaddwd + paddd, slower
 *   than 'paired'. V8 11.3 (Node 20) miscompiles it with several accumulators live (the parity test
 *   fails), so it is refused there even when asked for.
 */
import { readFileSync } from 'node:fs';
import type { Fn } from './encoder.ts';
import { int8GemmFn, INT8_MR } from './int8-gemm.ts';
import { int8GemmRelaxedFn, INT8_RELAXED_MR } from './int8-gemm-relaxed.ts';

export const INT8_DOTS = ['widened', 'paired', 'vnni'] as const;
export type Int8Dot = (typeof INT8_DOTS)[number];

/** V8's version as major·1000 + minor (13.6 → 13006), or 0 outside Node. */
function v8Version(): number {
  const v = (globalThis as { process?: { versions?: { v8?: string } } }).process?.versions?.v8;
  if (!v) return 0;
  const [major = 0, minor = 0] = v.split('.').map(Number);
  return major * 1000 + minor;
}

/** Oldest V8 the fused kernel was seen correct on (12.4, Node 22; 11.3, Node 20, miscompiles it). */
const FUSED_CORRECT_FROM = 12004;
/** Oldest V8 seen lowering the fused dot to vpdpbusd (13.6, Node 24; 12.4 still used pmaddubsw + pmaddwd). */
const FUSED_VNNI_FROM = 13006;

/** Whether this runtime compiles the fused dot correctly (the 'vnni' kernel may be asked for). */
export const fusedDotCorrect = (): boolean => v8Version() >= FUSED_CORRECT_FROM;

/** Whether the CPU flags (Linux /proc/cpuinfo) list AVX-VNNI; false where the file cannot be read. */
function cpuHasAvxVnni(): boolean {
  try {
    return /^flags\s*:.*\bavx_vnni\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** The fastest int8 GEMM this runtime and CPU run correctly (`relaxed`: relaxed SIMD is enabled). */
export function chooseInt8Dot(relaxed: boolean): Int8Dot {
  if (!relaxed) return 'widened';
  return v8Version() >= FUSED_VNNI_FROM && cpuHasAvxVnni() ? 'vnni' : 'paired';
}

/** Throws where `dot` cannot run correctly here (`relaxed`: relaxed SIMD is enabled). */
export function checkInt8Dot(dot: Int8Dot, relaxed: boolean): void {
  if (dot !== 'widened' && !relaxed)
    throw new Error(`createWasmBackend: int8Dot '${dot}' needs relaxed SIMD, which this runtime lacks`);
  if (dot === 'vnni' && !fusedDotCorrect())
    throw new Error(
      `createWasmBackend: int8Dot 'vnni' needs V8 ≥ 12.4 (Node ≥ 22); this V8 (${String(v8Version() / 1000)}) miscompiles i32x4.relaxed_dot_i8x16_i7x16_add_s`,
    );
}

/** Rows per register tile of the GEMM, which is also A's tile height (int8-quant.ts). */
export const int8TileRows = (dot: Int8Dot): number => (dot === 'paired' ? INT8_RELAXED_MR : INT8_MR);

export const int8GemmKernel = (dot: Int8Dot): Fn =>
  dot === 'widened' ? int8GemmFn('widened') : dot === 'paired' ? int8GemmRelaxedFn() : int8GemmFn('fused');

/** What the backend reports as its int8Kernel (benchmarks print it). */
export const INT8_DOT_NAMES: Readonly<Record<Int8Dot, string>> = {
  widened: 'SIMD 16-bit dot (i32x4.dot_i16x8_s, no relaxed SIMD)',
  paired: 'relaxed SIMD 8-bit dot (i16x8.relaxed_dot_i8x16_i7x16_s, widened every 2 blocks)',
  vnni: 'relaxed SIMD fused 8-bit dot (i32x4.relaxed_dot_i8x16_i7x16_add_s, AVX-VNNI vpdpbusd)',
};
