/** The Tensor handle: shape, dtype, a storage owned by a backend, and (while differentiating) a trace. */
import type { Backend, DataId, StoredRef } from '../backend/backend.ts';
import type { DType, StorageDType, TypedArrayOf } from './dtype.ts';
import { fmt, sizeOf, type Shape } from './shape.ts';

/** Set on tensors that derive from a differentiated argument; see core/autograd/tape.ts. */
export interface Trace {
  readonly tape: TapeLike;
  readonly key: number;
}
export interface TapeLike {
  readonly active: boolean;
}

export type NestedArray = number | NestedArray[];

let nextTensorSerial = 0;

/** A tensor of any storage dtype, f16 included: what the few ops that take f16 accept. */
export type AnyTensor = Tensor<StorageDType>;

export class Tensor<D extends StorageDType = DType> implements StoredRef {
  private disposed = false;
  /** Unique per Tensor object (debugging, tree keys); storage may be shared by several tensors. */
  readonly serial = nextTensorSerial++;

  /** Takes ownership of one reference to `id`. Prefer the creation functions and ops over this. */
  constructor(
    readonly backend: Backend,
    readonly id: DataId,
    readonly shape: Shape,
    readonly dtype: D,
    readonly trace?: Trace,
  ) {
    backend.scopes.track(this);
  }

  get size(): number {
    return sizeOf(this.shape);
  }
  get rank(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The trace if it belongs to a tape that is still recording. */
  get activeTrace(): Trace | undefined {
    return this.trace?.tape.active ? this.trace : undefined;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.backend.decRef(this.id);
  }

  assertLive(op: string): void {
    if (this.disposed) throw new Error(`${op}: input tensor ${fmt(this.shape)} ${this.dtype} was already disposed`);
  }

  /** Reads the values (waits for queued GPU work). */
  async data(): Promise<TypedArrayOf<D>> {
    this.assertLive('data');
    return (await this.backend.read(this)) as TypedArrayOf<D>;
  }

  /** Synchronous read; only backends that hold data on the host (CPU) support it. */
  dataSync(): TypedArrayOf<D> {
    this.assertLive('dataSync');
    return this.backend.readSync(this) as TypedArrayOf<D>;
  }

  async toArray(): Promise<NestedArray> {
    return nest(await this.data(), this.shape);
  }
  toArraySync(): NestedArray {
    return nest(this.dataSync(), this.shape);
  }

  async item(): Promise<number> {
    return scalarOf(await this.data(), this.shape);
  }
  itemSync(): number {
    return scalarOf(this.dataSync(), this.shape);
  }

  toString(): string {
    return `Tensor(${fmt(this.shape)}, ${this.dtype}, ${this.backend.name})`;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

function scalarOf(a: ArrayLike<number>, shape: Shape): number {
  if (a.length !== 1) throw new Error(`item: tensor ${fmt(shape)} has ${a.length} elements, expected 1`);
  return a[0]!;
}

function nest(a: ArrayLike<number>, shape: Shape): NestedArray {
  if (shape.length === 0) return a[0]!;
  const build = (dim: number, offset: number): NestedArray[] => {
    const n = shape[dim]!;
    const inner = sizeOf(shape.slice(dim + 1));
    const out: NestedArray[] = [];
    for (let i = 0; i < n; i++) {
      out.push(dim === shape.length - 1 ? a[offset + i]! : build(dim + 1, offset + i * inner));
    }
    return out;
  };
  return build(0, 0);
}

/** `v instanceof Tensor`, typed as the default `Tensor` (a bare instanceof narrows to `Tensor<any>`). */
export function isTensor(v: unknown): v is Tensor {
  return v instanceof Tensor;
}
