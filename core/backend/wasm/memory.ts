/**
 * The shared WASM memory as a tensor heap. f32 tensors the WASM backend creates live here (so its
 * kernels read operands in place and outputs reuse freed blocks instead of fresh, page-faulting
 * allocations); per-call scratch comes from the same allocator. Blocks are recycled by exact
 * (64-byte rounded) size first (a training step allocates the same shapes every time), coalesced when
 * that fails.
 */
import { WA, type WasmMemory } from './wasm-api.ts';

const PAGE = 65536;
/** 4 GiB, wasm32's limit; pointers above 2³¹ are read back with `>>> 0`. */
export const MAX_PAGES = 65536;

const roundSize = (bytes: number): number => Math.max(64, (bytes + 63) & ~63);

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

  get f32(): Float32Array {
    return this.f32_;
  }
  get i32(): Int32Array {
    return this.i32_;
  }
  /** A byte view of the current buffer (made on demand: only uploads of int8 weights write bytes). */
  get u8(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  /** True when `a` is a view into this heap (then `a.byteOffset` is its pointer). */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  /**
   * A 64-byte aligned block of at least `bytes` ending at or below `limit`, or undefined. Tries an
   * exact-size free block, then the top of the heap, then coalesces the free blocks and takes the
   * first that fits (splitting it): shapes repeat in training, but not always (e.g. varying logits).
   */
  tryAlloc(bytes: number, limit = MAX_PAGES * PAGE): number | undefined {
    const size = roundSize(bytes);
    const p = this.takeFree(size, limit, false) ?? this.bump(size, limit);
    if (p !== undefined || this.free_.size === 0) return p;
    this.compact();
    return this.takeFree(size, limit, true) ?? this.bump(size, limit);
  }

  alloc(bytes: number): number {
    const p = this.tryAlloc(bytes);
    if (p === undefined)
      throw new RangeError(`wasm backend: heap exhausted allocating ${bytes} bytes (${this.top} reserved)`);
    return p;
  }

  free(ptr: number, bytes: number): void {
    const size = roundSize(bytes);
    const list = this.free_.get(size);
    if (list) list.push(ptr);
    else this.free_.set(size, [ptr]);
  }

  private takeFree(size: number, limit: number, split: boolean): number | undefined {
    for (const [s, list] of split
      ? [...this.free_].sort((a, b) => a[0] - b[0])
      : [[size, this.free_.get(size) ?? []] as const]) {
      if (s < size) continue;
      for (let i = list.length - 1; i >= 0; i--) {
        const p = list[i]!;
        if (p + size > limit) continue;
        list.splice(i, 1);
        if (list.length === 0) this.free_.delete(s);
        if (s > size) this.free(p + size, s - size);
        return p;
      }
    }
    return undefined;
  }

  private bump(size: number, limit: number): number | undefined {
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

  /** Merges adjacent free blocks and gives a free run at the top back to the bump pointer. */
  private compact(): void {
    const blocks = [...this.free_]
      .flatMap(([s, ps]) => ps.map((p) => [p, s] as [number, number]))
      .sort((a, b) => a[0] - b[0]);
    this.free_.clear();
    const merged: [number, number][] = [];
    for (const [p, s] of blocks) {
      const last = merged.at(-1);
      if (last && last[0] + last[1] === p) last[1] += s;
      else merged.push([p, s]);
    }
    const top = merged.at(-1);
    if (top && top[0] + top[1] === this.top) {
      this.top = top[0];
      merged.pop();
    }
    for (const [p, s] of merged) this.free(p, s);
  }

  /** A Float32Array view of n elements at ptr. */
  view(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }

  /** Bytes reserved from the memory (live + recyclable). */
  get reserved(): number {
    return this.top;
  }
}
