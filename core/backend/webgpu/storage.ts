/**
 * The WebGPU backend's storage and dispatch layer, under its kernels (index.ts): f32, i32 and (with
 * shader-f16) f16 storages in the runtime's pooled GPUBuffers, the dtype check that throws
 * UnsupportedOp instead of falling back, `exec` (allocate the outputs, encode one program), and the
 * device's lifetime.
 */
import { UnsupportedOp, type DataId, type StoredRef } from '../backend.ts';
import { dtypeOfArray, type AnyTypedArray, type DType, type StorageDType } from '../../tensor/dtype.ts';
import { decodeHalf } from '../../tensor/half.ts';
import { ScopeStack } from '../../tensor/scope.ts';
import { sizeOf } from '../../tensor/shape.ts';
import type { Program } from '../../../kernels/wgsl/common.ts';
import { fillProgram } from '../../../kernels/wgsl/elementwise.ts';
import { tileFor, type Tile } from '../../../kernels/wgsl/matmul.ts';
import type { DeviceOptions } from './device.ts';
import { GpuRuntime } from './runtime.ts';
import { GpuInt8 } from './int8.ts';

export interface WebGpuOptions extends DeviceOptions {
  /** 'naive' selects matmul v1 (parity anchor); default the tiled kernel. */
  readonly matmul?: 'tiled' | 'naive';
}

/** Bytes of an f32 or i32 element. */
export const BYTES = 4;

export class WebGpuStorage implements Disposable {
  readonly name = 'webgpu' as const;
  readonly dtypes: ReadonlySet<StorageDType>;
  /** Whether f16 storage works here: the device has the adapter feature shader-f16 (device.ts). */
  readonly supportsF16: boolean;
  readonly scopes = new ScopeStack();
  readonly rt: GpuRuntime;
  protected readonly tile: Tile;
  /** int8 frozen weights on dot4I8Packed, refused (UnsupportedOp) where WGSL lacks it. */
  protected readonly int8: GpuInt8;

  constructor(
    device: GPUDevice,
    readonly adapterInfo: string,
    protected readonly opts: WebGpuOptions = {},
    owners: readonly unknown[] = [],
    /** Whether WGSL has dot4I8Packed here (device.ts's `int8`). */
    int8 = false,
  ) {
    this.rt = new GpuRuntime(device, owners);
    this.int8 = new GpuInt8(this.rt, int8);
    this.tile = tileFor(device.limits);
    this.supportsF16 = device.features.has('shader-f16');
    this.dtypes = new Set<StorageDType>(this.supportsF16 ? ['f32', 'i32', 'f16'] : ['f32', 'i32']);
  }

  protected dt(op: string, ...refs: readonly { readonly dtype: StorageDType }[]): void {
    for (const r of refs) {
      if (this.dtypes.has(r.dtype)) continue;
      throw new UnsupportedOp(
        op,
        'webgpu',
        r.dtype === 'f16'
          ? 'f16 storage needs the adapter feature shader-f16, which this device does not have'
          : `dtype ${r.dtype} (WGSL has no f64)`,
      );
    }
  }

  /** Allocates the outputs, encodes `prog`, returns the output ids. */
  protected exec(prog: Program, ins: readonly StoredRef[], outElems: readonly number[]): DataId[] {
    const outs = outElems.map((n) => this.rt.alloc(n * BYTES));
    this.rt.run(
      prog,
      ins.map((r) => r.id),
      outs,
    );
    return outs;
  }
  protected exec1(prog: Program, ins: readonly StoredRef[], n: number): DataId {
    return this.exec(prog, ins, [n])[0]!;
  }

  // ---------------- storage ----------------
  upload(data: AnyTypedArray, dtype: DType): DataId {
    this.rt.check();
    this.dt('upload', { dtype });
    if (dtypeOfArray(data) !== dtype)
      throw new TypeError(`webgpu upload: array is ${dtypeOfArray(data)}, tensor dtype is ${dtype}`);
    return this.rt.upload(data, data.byteLength);
  }
  fill(size: number, value: number, dtype: DType): DataId {
    this.dt('fill', { dtype });
    if (value === 0 && !Object.is(value, -0)) {
      const id = this.rt.alloc(size * BYTES);
      this.rt.clear(id, size * BYTES);
      return id;
    }
    return this.exec1(fillProgram(size, value, dtype), [], size);
  }
  async read(ref: StoredRef): Promise<AnyTypedArray> {
    this.dt('read', ref);
    const n = sizeOf(ref.shape);
    // halves come back as f32 (exact), the form the CPU reference stores them in
    if (ref.dtype === 'f16') return decodeHalf(new Uint16Array(await this.rt.read(ref.id, 2 * n)), n);
    const buf = await this.rt.read(ref.id, n * BYTES);
    return ref.dtype === 'i32' ? new Int32Array(buf) : new Float32Array(buf);
  }
  readSync(_ref: StoredRef): AnyTypedArray {
    throw new UnsupportedOp('readSync', 'webgpu', 'GPU reads are asynchronous: use await tensor.data()');
  }
  incRef(id: DataId): void {
    this.rt.incRef(id);
  }
  decRef(id: DataId): void {
    this.rt.decRef(id);
  }
  live(): number {
    return this.rt.live;
  }
  flush(): Promise<void> {
    return this.rt.flush();
  }

  /** Frees every buffer and the device (the Dawn binding keeps Node alive while a device lives). */
  destroy(): void {
    this.rt.destroy();
  }
  [Symbol.dispose](): void {
    this.destroy();
  }
}
