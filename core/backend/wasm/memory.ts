/** The shared WASM memory and a per-call bump arena over it (operands are copied in, results copied out). */
import { WA, type WasmMemory } from './wasm-api.ts';

const PAGE = 65536;
/** 2 GiB: byte pointers stay positive i32s in the kernels. */
export const MAX_PAGES = 32768;

export class SharedHeap {
  readonly memory: WasmMemory;
  private f32_: Float32Array;
  private i32_: Int32Array;
  private top = 64;

  constructor(initialPages = 256) {
    this.memory = new WA.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
    this.f32_ = new Float32Array(this.memory.buffer);
    this.i32_ = new Int32Array(this.memory.buffer);
  }

  get f32(): Float32Array { return this.f32_; }
  get i32(): Int32Array { return this.i32_; }

  /** Starts a call's allocations from the bottom (calls are synchronous, so nothing outlives one). */
  reset(): void { this.top = 64; }

  /** Reserves `bytes` (64-byte aligned) and returns the byte pointer, growing the memory if needed. */
  alloc(bytes: number): number {
    const p = this.top;
    this.top = (p + bytes + 63) & ~63;
    const need = this.top - this.memory.buffer.byteLength;
    if (need > 0) {
      const pages = Math.ceil(need / PAGE);
      if (this.memory.buffer.byteLength / PAGE + pages > MAX_PAGES) throw new RangeError(`wasm backend: ${this.top} bytes exceed the 2 GiB heap`);
      this.memory.grow(Math.max(pages, this.memory.buffer.byteLength / PAGE / 4 | 0));
      this.f32_ = new Float32Array(this.memory.buffer);
      this.i32_ = new Int32Array(this.memory.buffer);
    }
    return p;
  }

  /** Copies a typed array in; returns its byte pointer. `pad` extra zeroed bytes follow it. */
  put(src: Float32Array, pad = 0): number {
    const p = this.alloc(src.length * 4 + pad);
    this.f32_.set(src, p >> 2);
    if (pad > 0) this.f32_.fill(0, (p >> 2) + src.length, (p >> 2) + src.length + (pad >> 2));
    return p;
  }
}
