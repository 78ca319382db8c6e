import { setFlagsFromString } from 'node:v8';

/**
 * The slice of the WebAssembly JS API the backend uses. The project's lib (ES2023, no DOM) does not
 * declare `WebAssembly`, and a global declaration could clash with DOM typings, so it is typed here.
 */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
export interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: { env: { memory: WasmMemory } }) => WasmInstance;
  validate(bytes: Uint8Array): boolean;
}

export const WA: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Relaxed SIMD's f32x4.relaxed_madd lowers to FMA on x64; Node 20 keeps it behind a V8 flag. */
export function enableFma(): boolean {
  const probe = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, 3, 2, 1, 0, 10, 13, 1, 11, 0, 0x20, 0,
    0x20, 1, 0x20, 2, 0xfd, 0x85, 0x02, 0x0b,
  ]);
  if (WA.validate(probe)) return true;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return WA.validate(probe);
}
