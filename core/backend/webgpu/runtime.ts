/**
 * The WebGPU runtime under the backend: pooled storage buffers with reference counts, a pipeline
 * cache keyed by `Program.key`, one shared command encoder that batches dispatches until a read,
 * `flush()` or MAX_PENDING dispatches, and errors that name the kernel instead of vanishing.
 *
 * Ordering: `queue.writeBuffer` runs before any not-yet-submitted command buffer, so an upload must
 * never land in a buffer the open encoder still touches. Buffers freed since the last submit sit in
 * `dirty` (kernel outputs may reuse them — encoder order protects them), uploads only take `clean` ones.
 */
import type { Program } from '../../../kernels/wgsl/common.ts';
import { PARAM_WORDS } from '../../../kernels/wgsl/common.ts';
import { RefCounted } from '../refcount.ts';

const STORAGE = 0x80 | 0x04 | 0x08; // GPUBufferUsage STORAGE | COPY_SRC | COPY_DST (globals may be absent at import)
const UNIFORM = 0x40 | 0x08; // UNIFORM | COPY_DST
const MAP_READ = 0x01 | 0x08; // MAP_READ | COPY_DST
const MAX_PENDING = 128;

export class ShaderError extends Error {
  override readonly name = 'ShaderError';
  constructor(kernel: string, key: string, message: string, messages: readonly GPUCompilationMessage[], code: string) {
    const lines = code.split('\n');
    const diag = messages
      .map((m) => `  ${m.type} at line ${m.lineNum}:${m.linePos}: ${m.message}\n    > ${lines[m.lineNum - 1] ?? ''}`)
      .join('\n');
    const listing = lines.map((l, i) => `${String(i + 1).padStart(4)}| ${l}`).join('\n');
    super(`WGSL kernel ${kernel} (${key}) failed to compile: ${message}\n${diag}\n--- source ---\n${listing}`);
  }
}

/** Size class: powers of two up to 4 MiB, then eighths of the next power of two (≤ 12.5% waste). */
export function sizeClass(bytes: number): number {
  const b = Math.max(4, Math.ceil(bytes / 4) * 4);
  const p = 2 ** Math.ceil(Math.log2(b));
  if (p <= 4 << 20) return Math.max(p, 16);
  const step = p / 16;
  return Math.ceil(b / step) * step;
}

interface Storage {
  readonly buffer: GPUBuffer;
  readonly cls: number;
}

export class GpuRuntime {
  private encoder: GPUCommandEncoder | undefined;
  private pending = 0;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly checks = new Set<Promise<void>>();
  private error: Error | undefined;
  private batch: string[] = [];
  private readonly store = new RefCounted<Storage>('webgpu backend');
  private readonly clean = new Map<number, GPUBuffer[]>();
  private readonly dirty = new Map<number, GPUBuffer[]>();
  private readonly uniformsFree: GPUBuffer[] = [];
  private readonly uniformsUsed: GPUBuffer[] = [];
  private destroyed = false;

  /** `owners` keeps the Dawn instance and adapter alive as long as the device (see device.ts). */
  constructor(
    readonly device: GPUDevice,
    public owners?: readonly unknown[],
  ) {
    device.lost.then(
      (info) => {
        if (!this.destroyed)
          this.fail(
            new Error(
              `WebGPU device lost (${info.reason}): ${info.message}; last kernels encoded: ${this.batch.join(', ') || '(none)'}`,
            ),
          );
      },
      () => {},
    );
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.fail(new Error(`WebGPU error (batch: ${this.batch.join(', ') || 'none'}): ${ev.error.message}`));
    };
    // every batch runs inside error scopes, so its errors name its kernels
    this.openScopes();
  }

  private openScopes(): void {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
  }

  /** Closes the batch's scopes; an error names the batch's kernels (Dawn's text names the object). */
  private closeScopes(kernels: readonly string[]): void {
    const errs = [this.device.popErrorScope(), this.device.popErrorScope()];
    const names = kernels.length > 6 ? [...kernels.slice(0, 3), '…', ...kernels.slice(-3)] : kernels;
    this.checks.add(
      Promise.all(errs).then(
        ([v, o]) => {
          const err = v ?? o;
          if (err)
            this.fail(
              new Error(
                `WebGPU ${v ? 'validation' : 'out-of-memory'} error in a batch of kernels [${names.join(', ')}]: ${err.message}`,
              ),
            );
        },
        () => {},
      ),
    );
  }

  private fail(e: Error): void {
    // a compile error explains the follow-on "invalid pipeline" errors better than they do
    if (!this.error || (e instanceof ShaderError && !(this.error instanceof ShaderError))) this.error = e;
  }

  /**
   * Throws an error an earlier call produced asynchronously (compile failure, device loss). An
   * invalid pipeline's follow-on errors arrive before its compile diagnostics, so async paths use
   * `checkSettled`, which waits for those first. (Scoping each first dispatch instead crashes Dawn.)
   */
  check(): void {
    if (this.destroyed) throw new Error('webgpu backend: used after destroy()');
    if (this.error) throw this.error;
  }

  // ---------------- storage ----------------
  get live(): number {
    return this.store.live;
  }

  /** Bytes of every storage buffer ever created (pooled buffers are kept): the storage's high-water mark on the device. */
  get createdBytes(): number {
    return this.created;
  }
  private created = 0;

  private take(cls: number, allowDirty: boolean): GPUBuffer {
    const fromDirty = allowDirty ? this.dirty.get(cls)?.pop() : undefined;
    const pooled = fromDirty ?? this.clean.get(cls)?.pop();
    if (pooled) return pooled;
    this.created += cls;
    return this.device.createBuffer({ size: cls, usage: STORAGE, label: `storage/${cls}` });
  }

  /** A new storage of at least `bytes`; `forUpload` keeps it clear of the open encoder. */
  alloc(bytes: number, forUpload = false): number {
    const cls = sizeClass(bytes);
    return this.store.add({ buffer: this.take(cls, !forUpload), cls });
  }

  buffer(id: number): GPUBuffer {
    return this.store.get(id).buffer;
  }

  incRef(id: number): void {
    this.store.incRef(id);
  }

  /** The last reference returns the buffer to its size class's pool (dirty until the open work is submitted). */
  decRef(id: number): void {
    const s = this.store.decRef(id);
    if (!s) return;
    const list = this.dirty.get(s.cls) ?? [];
    list.push(s.buffer);
    this.dirty.set(s.cls, list);
  }

  upload(data: ArrayBufferView, bytes: number): number {
    const id = this.alloc(bytes, true);
    if (bytes > 0)
      this.device.queue.writeBuffer(this.buffer(id), 0, data.buffer, data.byteOffset, Math.ceil(bytes / 4) * 4);
    return id;
  }

  // ---------------- kernels ----------------
  private pipeline(prog: Program): GPUComputePipeline {
    const hit = this.pipelines.get(prog.key);
    if (hit) return hit;
    const code = prog.wgsl();
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: prog.key });
    const pipeline = this.device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
      label: prog.key,
    });
    this.checks.add(
      this.device.popErrorScope().then(async (err) => {
        if (err)
          this.fail(
            new ShaderError(prog.name, prog.key, err.message, (await module.getCompilationInfo()).messages, code),
          );
      }),
    );
    this.pipelines.set(prog.key, pipeline);
    return pipeline;
  }

  /** Waits for the outstanding compile / validation checks (each is awaited once). */
  private async settle(): Promise<void> {
    const pending = [...this.checks];
    this.checks.clear();
    await Promise.all(pending);
  }

  private enc(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder({ label: 'promptgrad' }));
  }

  /** Encodes one dispatch: `ins` bind read-only at 0.., `outs` read_write after them, Params last. */
  run(prog: Program, ins: readonly number[], outs: readonly number[]): void {
    this.check();
    const [x, y, z] = prog.workgroups;
    if (x * y * z === 0) return;
    const pipeline = this.pipeline(prog);
    const uniform =
      this.uniformsFree.pop() ?? this.device.createBuffer({ size: PARAM_WORDS * 4, usage: UNIFORM, label: 'params' });
    // safe: a free uniform is referenced by no unsubmitted command
    this.device.queue.writeBuffer(uniform, 0, prog.params.buffer, prog.params.byteOffset, PARAM_WORDS * 4);
    this.uniformsUsed.push(uniform);
    const entries: GPUBindGroupEntry[] = [...ins, ...outs].map((id, binding) => ({
      binding,
      resource: { buffer: this.buffer(id) },
    }));
    entries.push({ binding: entries.length, resource: { buffer: uniform } });
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: prog.key });
    const pass = this.enc().beginComputePass({ label: prog.key });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    this.batch.push(prog.key);
    if (++this.pending >= MAX_PENDING) this.submit();
  }

  clear(id: number, bytes: number): void {
    this.check();
    if (bytes > 0) this.enc().clearBuffer(this.buffer(id), 0, Math.ceil(bytes / 4) * 4);
  }

  submit(): void {
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = undefined;
    }
    this.closeScopes(this.batch);
    this.batch = [];
    this.openScopes();
    this.pending = 0;
    this.uniformsFree.push(...this.uniformsUsed.splice(0));
    for (const [cls, list] of this.dirty) {
      const c = this.clean.get(cls) ?? [];
      c.push(...list);
      this.clean.set(cls, c);
    }
    this.dirty.clear();
  }

  private async checkSettled(): Promise<void> {
    if (this.error) await this.settle();
    this.check();
  }

  /** Submits everything, waits for it, and surfaces any compile or device error. */
  async flush(): Promise<void> {
    await this.checkSettled();
    this.submit();
    await this.settle();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }

  async read(id: number, bytes: number): Promise<ArrayBuffer> {
    await this.checkSettled();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: MAP_READ, label: 'readback' });
    this.enc().copyBufferToBuffer(this.buffer(id), 0, staging, 0, size);
    this.submit();
    await this.settle();
    this.check();
    try {
      await staging.mapAsync(1 /* GPUMapMode.READ */);
      return staging.getMappedRange().slice(0, bytes);
    } finally {
      staging.destroy();
      this.check();
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.encoder = undefined;
    for (const s of this.store.values()) s.buffer.destroy();
    for (const pool of [this.clean, this.dirty]) for (const l of pool.values()) for (const b of l) b.destroy();
    for (const b of [...this.uniformsFree, ...this.uniformsUsed]) b.destroy();
    this.store.clear();
    this.clean.clear();
    this.dirty.clear();
    this.pipelines.clear();
    this.device.onuncapturederror = null;
    this.device.destroy();
    this.owners = undefined;
  }
}
