/**
 * The slice of the WebAssembly JS API the backend uses. The project's lib (ES2023, no DOM) does not
 * declare `WebAssembly`, and a global declaration could clash with DOM typings, so it is typed here.
 */
export interface WasmMemory { readonly buffer: SharedArrayBuffer; grow(pages: number): number }
export interface WasmModule { readonly __brand?: 'WebAssembly.Module' }
export interface WasmInstance { readonly exports: Record<string, unknown> }

interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: { env: { memory: WasmMemory } }) => WasmInstance;
  validate(bytes: Uint8Array): boolean;
}

export const WA: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
