/**
 * The CPU backend: the reference every other backend answers to. Plain loops over Float64Array,
 * Float32Array and Int32Array (llm.c style); every kernel's algorithm lives in a `*Ref` function.
 * f16 tensors are Float32Arrays of exact half values, so matmulRef reads them like any f32 operand.
 */
import {
  I32_UNARY_OPS,
  I32_UNARY_REFUSAL,
  UnsupportedOp,
  type AdamWHyper,
  type Backend,
  type BinaryOp,
  type CompareOp,
  type DataId,
  type Int8Id,
  type MatmulOptions,
  type ReduceOp,
  type StoredRef,
  type TensorRef,
  type UnaryOp,
} from '../backend.ts';
import {
  allocArray,
  computeDtype,
  convertArray,
  dtypeOfArray,
  type AnyTypedArray,
  type DType,
  type StorageDType,
} from '../../tensor/dtype.ts';
import { roundToHalf } from '../../tensor/half.ts';
import { ScopeStack } from '../../tensor/scope.ts';
import { RefCounted } from '../refcount.ts';
import { sizeOf, type Shape } from '../../tensor/shape.ts';
import { binaryFn, binaryRef, compareFn, unaryFn, unaryRef, whereRef } from './elementwise.ts';
import { attentionBackwardRef, attentionRef, type AttnBias, type AttnDims } from './attention.ts';
import { matmulRef } from './matmul.ts';
import { concatRef, gatherRef, oneHotRef, padRef, scatterAddRef, stridedRef } from './movement.ts';
import {
  adamwRef,
  crossEntropyBackwardRef,
  crossEntropyRef,
  layerNormBackwardRef,
  layerNormRef,
  softmaxRef,
} from './nn.ts';
import { argmaxRef, reduceRef } from './reduce.ts';
import { Int8Store } from './int8.ts';
import type { Int8Direction, Int8Matrix } from '../../tensor/int8.ts';

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly dtypes: ReadonlySet<StorageDType> = new Set<StorageDType>(['f32', 'f64', 'i32', 'f16']);
  readonly scopes = new ScopeStack();
  private readonly store = new RefCounted<AnyTypedArray>('cpu backend');
  /** Quantized frozen weights: host codes and scales, read by the oracle (and copied by faster backends). */
  protected readonly int8Store = new Int8Store();

  private get(r: StoredRef): AnyTypedArray {
    return this.store.get(r.id);
  }
  private add(a: AnyTypedArray): DataId {
    return this.store.add(a);
  }

  upload(data: AnyTypedArray, dtype: DType): DataId {
    if (dtypeOfArray(data) !== dtype)
      throw new TypeError(`cpu upload: array is ${dtypeOfArray(data)}, tensor dtype is ${dtype}`);
    return this.add(data.slice());
  }
  fill(size: number, value: number, dtype: DType): DataId {
    const a = allocArray(dtype, size);
    if (value !== 0) a.fill(value);
    return this.add(a);
  }
  read(ref: StoredRef): Promise<AnyTypedArray> {
    return Promise.resolve(this.readSync(ref));
  }
  readSync(ref: StoredRef): AnyTypedArray {
    return this.get(ref).slice();
  }
  /** Zero-copy view for host-side consumers that promise not to write (kernels of other CPU paths). */
  view(ref: StoredRef): AnyTypedArray {
    return this.get(ref);
  }
  incRef(id: DataId): void {
    this.store.incRef(id);
  }
  decRef(id: DataId): void {
    this.store.decRef(id);
  }
  live(): number {
    return this.store.live;
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }

  unary(op: UnaryOp, x: TensorRef): DataId {
    if (x.dtype === 'i32' && !I32_UNARY_OPS.has(op)) throw new UnsupportedOp(op, 'cpu', I32_UNARY_REFUSAL);
    return this.add(unaryRef(unaryFn(op, x.dtype), this.get(x), x.dtype));
  }
  binary(op: BinaryOp, a: TensorRef, b: TensorRef, outShape: Shape): DataId {
    return this.add(binaryRef(binaryFn(op, a.dtype), this.get(a), a.shape, this.get(b), b.shape, outShape, a.dtype));
  }
  compare(op: CompareOp, a: TensorRef, b: TensorRef, outShape: Shape): DataId {
    return this.add(binaryRef(compareFn(op), this.get(a), a.shape, this.get(b), b.shape, outShape, 'i32'));
  }
  where(c: TensorRef, a: TensorRef, b: TensorRef, outShape: Shape): DataId {
    return this.add(whereRef(this.get(c), c.shape, this.get(a), a.shape, this.get(b), b.shape, outShape, a.dtype));
  }
  /** f32 → f16 rounds to the nearest half and keeps it as f32 (dtype.ts); f16 → f32/f64 is a plain copy. */
  cast(x: StoredRef, dtype: StorageDType): DataId {
    if (dtype === 'f16')
      return this.add(x.dtype === 'f16' ? this.get(x).slice() : roundToHalf(this.get(x) as Float32Array));
    return this.add(convertArray(this.get(x), dtype));
  }

  reduce(op: ReduceOp, x: TensorRef, axes: readonly number[]): DataId {
    return this.add(reduceRef(op, this.get(x), x.shape, axes, x.dtype));
  }
  argmax(x: TensorRef, axis: number): DataId {
    return this.add(argmaxRef(this.get(x), x.shape, axis));
  }

  get int8Kernel(): string | undefined {
    return 'f64 oracle (exact integer sums)';
  }
  uploadInt8(w: Int8Matrix): Int8Id {
    return this.int8Store.add(w);
  }
  releaseInt8(w: Int8Id): void {
    this.int8Store.release(w);
  }
  /** The oracle (core/tensor/int8.ts int8ProductRef): exact integer sums, f32 roundings in the kernels' order. */
  int8Matmul(x: TensorRef, w: Int8Id, dir: Int8Direction, bias: TensorRef | undefined): DataId {
    const m = this.int8Store.get(w);
    return this.add(this.int8Store.reference(this.get(x), x, m, dir, bias && this.get(bias)));
  }

  matmul(a: StoredRef, b: StoredRef, opts: MatmulOptions, outShape: Shape): DataId {
    return this.add(
      matmulRef(
        this.get(a),
        a.shape,
        this.get(b),
        b.shape,
        opts,
        outShape,
        computeDtype(a.dtype),
        opts.bias && this.get(opts.bias),
      ),
    );
  }

  strided(x: TensorRef, outShape: Shape, strides: readonly number[], offset: number): DataId {
    return this.add(stridedRef(this.get(x), outShape, strides, offset, x.dtype));
  }
  pad(x: TensorRef, before: readonly number[], after: readonly number[], value: number): DataId {
    return this.add(padRef(this.get(x), x.shape, before, after, value, x.dtype));
  }
  concat(xs: readonly TensorRef[], axis: number, outShape: Shape): DataId {
    const dtype = xs[0]!.dtype;
    return this.add(
      concatRef(
        xs.map((x) => ({ data: this.get(x), shape: x.shape })),
        axis,
        outShape,
        dtype,
      ),
    );
  }
  takeRows(table: TensorRef, indices: TensorRef): DataId {
    return this.add(gatherRef(this.get(table), table.shape, this.get(indices), table.dtype, true));
  }
  gather(table: TensorRef, indices: TensorRef): DataId {
    return this.add(gatherRef(this.get(table), table.shape, this.get(indices), table.dtype));
  }
  scatterAdd(indices: TensorRef, updates: TensorRef, numRows: number): DataId {
    const row = sizeOf(updates.shape.slice(indices.shape.length));
    return this.add(scatterAddRef(this.get(indices), this.get(updates), numRows, row, updates.dtype));
  }
  oneHot(indices: TensorRef, depth: number, dtype: DType): DataId {
    return this.add(oneHotRef(this.get(indices), depth, dtype));
  }

  softmax(x: TensorRef): DataId {
    return this.add(softmaxRef(this.get(x), x.shape.at(-1) ?? 1, x.dtype, false));
  }
  logSoftmax(x: TensorRef): DataId {
    return this.add(softmaxRef(this.get(x), x.shape.at(-1) ?? 1, x.dtype, true));
  }
  layerNorm(x: TensorRef, w: TensorRef, b: TensorRef, eps: number) {
    const r = layerNormRef(this.get(x), this.get(w), this.get(b), x.shape.at(-1) ?? 1, eps, x.dtype);
    return { y: this.add(r.y), mean: this.add(r.mean), rstd: this.add(r.rstd) };
  }
  layerNormBackward(dy: TensorRef, x: TensorRef, w: TensorRef, mean: TensorRef, rstd: TensorRef) {
    const r = layerNormBackwardRef(
      this.get(dy),
      this.get(x),
      this.get(w),
      this.get(mean),
      this.get(rstd),
      x.shape.at(-1) ?? 1,
      x.dtype,
    );
    return { dx: this.add(r.dx), dWeight: this.add(r.dWeight), dBias: this.add(r.dBias) };
  }
  layerNormBackwardDx(dy: TensorRef, x: TensorRef, w: TensorRef, mean: TensorRef, rstd: TensorRef): DataId {
    return this.add(
      layerNormBackwardRef(
        this.get(dy),
        this.get(x),
        this.get(w),
        this.get(mean),
        this.get(rstd),
        x.shape.at(-1) ?? 1,
        x.dtype,
        false,
      ).dx,
    );
  }
  crossEntropy(logits: TensorRef, labels: TensorRef, ignoreIndex: number, smoothing: number) {
    const r = crossEntropyRef(
      this.get(logits),
      this.get(labels),
      logits.shape.at(-1) ?? 1,
      ignoreIndex,
      smoothing,
      logits.dtype,
    );
    return { loss: this.add(r.loss), lse: this.add(r.lse) };
  }
  crossEntropyBackward(
    dy: TensorRef,
    logits: TensorRef,
    labels: TensorRef,
    lse: TensorRef,
    ignoreIndex: number,
    smoothing: number,
  ): DataId {
    return this.add(
      crossEntropyBackwardRef(
        this.get(dy),
        this.get(logits),
        this.get(labels),
        this.get(lse),
        logits.shape.at(-1) ?? 1,
        ignoreIndex,
        smoothing,
        logits.dtype,
      ),
    );
  }

  private attnDims(q: TensorRef, k: TensorRef): AttnDims {
    const [B, H, Tq, Dh] = q.shape as [number, number, number, number];
    return { B, H, Tq, Tk: k.shape[2]!, Dh };
  }
  private attnBias(bias: TensorRef | undefined): AttnBias | undefined {
    return bias && { data: this.get(bias), shape: bias.shape };
  }
  attention(q: TensorRef, k: TensorRef, v: TensorRef, bias: TensorRef | undefined, scale: number) {
    const r = attentionRef(
      this.get(q),
      this.get(k),
      this.get(v),
      this.attnBias(bias),
      this.attnDims(q, k),
      scale,
      q.dtype,
    );
    return { out: this.add(r.out), lse: this.add(r.lse) };
  }
  attentionBackward(
    dOut: TensorRef,
    q: TensorRef,
    k: TensorRef,
    v: TensorRef,
    bias: TensorRef | undefined,
    out: TensorRef,
    lse: TensorRef,
    scale: number,
  ) {
    const r = attentionBackwardRef(
      this.get(dOut),
      this.get(q),
      this.get(k),
      this.get(v),
      this.attnBias(bias),
      this.get(out),
      this.get(lse),
      this.attnDims(q, k),
      scale,
      q.dtype,
    );
    return { dq: this.add(r.dq), dk: this.add(r.dk), dv: this.add(r.dv) };
  }

  adamw(param: TensorRef, grad: TensorRef, m: TensorRef, v: TensorRef, h: AdamWHyper): void {
    adamwRef(this.get(param), this.get(grad), this.get(m), this.get(v), h);
  }
}

export const cpuBackend = (): CpuBackend => new CpuBackend();
