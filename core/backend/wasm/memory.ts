/**
 * The shared WASM memory as a tensor heap. f32 tensors the WASM backend creates live here (so its
 * kernels read operands in place and outputs reuse freed blocks instead of fresh, page-faulting
 * allocations); per-call scratch comes from the same allocator. Blocks are recycled by exact
 * (64-byte rounded) size: a training step allocates the same shapes every time.
 */
import { WA, type WasmMemory } from './wasm-api.ts';

const PAGE = 65536;
/** 4 GiB, wasm32's limit; pointers above 2³¹ are read back with `>>> 0`. */
export const MAX_PAGES = 65536;

export class SharedHeap {
  readonly memory: WasmMemory;
  private f32_: Float32Array;
  private i32_: Int32Array;
  private top = 64;
  private readonly free_ = new Map<number, number[]>();
  /** Every buffer object this memory has had (growing a shared memory hands out a new, longer one). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  constructor(initialPages = 256) {
    this.memory = new WA.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
    this.f32_ = new Float32Array(this.memory.buffer);
    this.i32_ = new Int32Array(this.memory.buffer);
    this.buffers.add(this.memory.buffer);
  }

  get f32(): Float32Array { return this.f32_; }
  get i32(): Int32Array { return this.i32_; }

  /** True when `a` is a view into this heap (then `a.byteOffset` is its pointer). */
  owns(a: ArrayBufferView): boolean { return this.buffers.has(a.buffer); }

  /** A 64-byte aligned block of at least `bytes`; undefined when it would take the heap past `limit` bytes. */
  tryAlloc(bytes: number, limit = MAX_PAGES * PAGE): number | undefined {
    const size = Math.max(64, (bytes + 63) & ~63);
    const reuse = this.free_.get(size)?.pop();
    if (reuse !== undefined) return reuse;
    const p = this.top;
    if (p + size > limit) return undefined;
    const need = p + size - this.memory.buffer.byteLength;
    if (need > 0) {
      const cur = this.memory.buffer.byteLength / PAGE;
      const pages = Math.min(MAX_PAGES - cur, Math.max(Math.ceil(need / PAGE), cur >> 2)); // grow by ≥ 25%
      this.memory.grow(pages);
      this.f32_ = new Float32Array(this.memory.buffer);
      this.i32_ = new Int32Array(this.memory.buffer);
      this.buffers.add(this.memory.buffer);
    }
    this.top = p + size;
    return p;
  }

  alloc(bytes: number): number {
    const p = this.tryAlloc(bytes);
    if (p === undefined) throw new RangeError(`wasm backend: heap exhausted allocating ${bytes} bytes`);
    return p;
  }

  free(ptr: number, bytes: number): void {
    const size = Math.max(64, (bytes + 63) & ~63);
    const list = this.free_.get(size);
    if (list) list.push(ptr); else this.free_.set(size, [ptr]);
  }

  /** A Float32Array view of n elements at ptr. */
  view(ptr: number, n: number): Float32Array { return new Float32Array(this.memory.buffer, ptr, n); }

  /** Bytes reserved from the memory (live + recyclable). */
  get reserved(): number { return this.top; }
}
