/**
 * The WASM backend's storage layer, under its kernels (index.ts): f32 storages it creates are
 * Float32Array views into one shared heap, held in the inherited CPU storage so the reference kernels
 * read them unchanged; reference counts free their heap blocks and what the forwards kept for the
 * backwards; `call` gives a kernel its operands' heap pointers (copying in those from elsewhere) and
 * scratch; `host` / `gemmHost` hand the kernel files the thread pool. It also owns the one compiled
 * module (kernels.ts) and the pool that runs it.
 */
import { availableParallelism } from 'node:os';
import type { DataId, TensorRef } from '../backend.ts';
import { CpuBackend } from '../cpu/index.ts';
import type { AnyTypedArray, DType } from '../../tensor/dtype.ts';
import { DerivedBlocks } from './derived.ts';
import type { GemmShape } from './gemm-plan.ts';
import type { GemmHost } from './gemm-run.ts';
import { checkInt8Dot, chooseInt8Dot, type Int8Dot } from './int8-kernel.ts';
import { compileKernels, FN, KERNELS, type Kernel } from './kernels.ts';
import type { KernelHost } from './layout.ts';
import { SharedHeap } from './memory.ts';
import { MAX_CHUNKS, ThreadPool } from './pool.ts';
import { enableFma } from './wasm-api.ts';

export interface WasmOptions {
  /** Threads including the calling one (default: os.availableParallelism()). */
  readonly threads?: number;
  /** Register tile; default 3×12 (gemm.ts: the largest that fits x64 V8 registers; 5–10 % over 4×8). */
  readonly gemm?: Partial<GemmShape>;
  /** Heap bytes f32 storages may fill (default 3 GiB); past it results are copied out to plain arrays. */
  readonly outputHeapBytes?: number;
  /** The int8 GEMM (int8-kernel.ts; default: the fastest this runtime and CPU run correctly). */
  readonly int8Dot?: Int8Dot;
}

/** Heap bytes f32 storages may fill by default; the rest of the 4 GiB stays for per-call scratch. */
const HEAP_OUTPUT_LIMIT = 3 * 2 ** 30;
/** Chunks per thread: enough for the caller to absorb a worker that wakes late on a shared box. */
const CHUNKS_PER_THREAD = 4;
/** Below this many elements an elementwise op runs on the calling thread only. */
export const PARALLEL_MIN_ELEMS = 1 << 15;

export class WasmHeapBackend extends CpuBackend {
  readonly threads: number;
  readonly gemmShape: GemmShape;
  readonly int8Dot: Int8Dot;
  protected readonly outputHeapBytes: number;
  protected readonly heap = new SharedHeap();
  /** Heap blocks of the f32 storages this backend created, with their reference counts. */
  protected readonly owned = new Map<DataId, { ptr: number; bytes: number; refs: number }>();
  protected readonly pool: ThreadPool;
  /** What forwards keep for their backwards (attention's P, GELU's derivative), freed with their storages. */
  protected readonly derived = new DerivedBlocks((b) => this.heap.free(b.ptr, b.bytes));

  constructor(opts: WasmOptions = {}) {
    super();
    this.threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
    this.outputHeapBytes = opts.outputHeapBytes ?? HEAP_OUTPUT_LIMIT;
    const fma = opts.gemm?.fma ?? enableFma();
    this.gemmShape = { mr: opts.gemm?.mr ?? 3, nr: opts.gemm?.nr ?? 12, fma };
    this.int8Dot = opts.int8Dot ?? chooseInt8Dot(fma);
    checkInt8Dot(this.int8Dot, fma);
    const { module, arity } = compileKernels(this.gemmShape, this.int8Dot);
    this.pool = new ThreadPool(module, this.heap.memory, KERNELS, arity, this.threads);
  }

  /** Registers a result array with the inherited storage (CpuBackend keeps `add` private). */
  private adopt(a: AnyTypedArray): DataId {
    return (this as unknown as { add(a: AnyTypedArray): DataId }).add(a);
  }
  protected f32(r: TensorRef): Float32Array {
    return this.view(r) as Float32Array;
  }

  /**
   * A new f32 storage of n elements (`pad` spare bytes for whole-v128 writes): a heap block while the
   * heap is under `outputHeapBytes`, else a plain array the kernel's heap result is copied to (so
   * large models, e.g. BERT-base's ~4 GB of saved activations, still leave room for scratch).
   */
  protected output(n: number, pad = 0): { ptr: number; id: () => DataId } {
    const bytes = 4 * n + pad;
    const ptr = this.heap.tryAlloc(bytes, this.outputHeapBytes);
    if (ptr === undefined) {
      const tmp = this.heap.alloc(bytes);
      return {
        ptr: tmp,
        id: () => {
          const a = this.heap.f32.slice(tmp >>> 2, (tmp >>> 2) + n);
          this.heap.free(tmp, bytes);
          return this.adopt(a);
        },
      };
    }
    return { ptr, id: () => this.own(ptr, bytes, n) };
  }

  /** Registers the heap block at ptr (n f32s) as a storage this backend owns. */
  protected own(ptr: number, bytes: number, n: number): DataId {
    const id = this.adopt(this.heap.view(ptr, n));
    this.owned.set(id, { ptr, bytes, refs: 1 });
    return id;
  }

  /** Runs `fn` with a pointer getter for operands (copied into scratch when not heap-resident) and scratch blocks. */
  protected call<R>(fn: (input: (r: TensorRef) => number, scratch: (bytes: number) => number) => R): R {
    const temps: [number, number][] = [];
    const scratch = (bytes: number): number => {
      const p = this.heap.alloc(bytes);
      temps.push([p, bytes]);
      return p;
    };
    const input = (r: TensorRef): number => {
      const a = this.f32(r);
      if (this.heap.owns(a)) return a.byteOffset;
      const p = scratch(4 * a.length + 16);
      this.heap.f32.set(a, p >>> 2);
      return p;
    };
    try {
      return fn(input, scratch);
    } finally {
      for (const [p, b] of temps) this.heap.free(p, b);
    }
  }

  override upload(data: AnyTypedArray, dtype: DType): DataId {
    if (dtype !== 'f32' || !(data instanceof Float32Array)) return super.upload(data, dtype);
    const o = this.output(data.length);
    this.heap.f32.set(data, o.ptr >>> 2);
    return o.id();
  }
  override fill(size: number, value: number, dtype: DType): DataId {
    if (dtype !== 'f32') return super.fill(size, value, dtype);
    const o = this.output(size);
    this.heap.f32.fill(value, o.ptr >>> 2, (o.ptr >>> 2) + size);
    return o.id();
  }
  override incRef(id: DataId): void {
    super.incRef(id);
    const o = this.owned.get(id);
    if (o) o.refs++;
  }
  override decRef(id: DataId): void {
    super.decRef(id);
    const o = this.owned.get(id);
    if (o && --o.refs === 0) {
      this.owned.delete(id);
      this.heap.free(o.ptr, o.bytes);
      this.derived.release(id);
    }
  }

  protected gemmHost(input: (r: TensorRef) => number, scratch: (bytes: number) => number): GemmHost {
    const self = this,
      host = this.host(input, scratch);
    return {
      ...host,
      get i32() {
        return self.heap.i32;
      },
      get f32() {
        return self.heap.f32;
      },
      threads: this.threads,
      tile: this.gemmShape,
    };
  }

  protected host(input: (r: TensorRef) => number, scratch: (bytes: number) => number): KernelHost<Kernel> {
    const self = this;
    return {
      get i32() {
        return self.heap.i32;
      },
      input,
      scratch,
      chunks: (elems, rows) => this.chunks(elems, rows),
      run: (fn, chunks) => this.pool.run(FN[fn], chunks),
    };
  }

  /** How many chunks to split `elems` of work into, at most `units` (rows, v128s). */
  protected chunks(elems: number, units: number): number {
    return elems < PARALLEL_MIN_ELEMS || this.threads === 1
      ? 1
      : Math.max(1, Math.min(units, CHUNKS_PER_THREAD * this.threads, MAX_CHUNKS));
  }

  /** Heap bytes reserved (live tensors + recyclable blocks). */
  get heapBytes(): number {
    return this.heap.reserved;
  }

  dispose(): void {
    this.pool.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
