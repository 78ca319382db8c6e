/**
 * The interface every backend implements: storage with reference counts, and the kernel set.
 * The CPU backend (core/backend/cpu) is the reference every other backend is held to.
 *
 * Conventions: every tensor is contiguous row-major; kernels take `TensorRef`s (storage id + shape +
 * dtype) and return the id of a new storage holding the output (refcount 1). Output shapes are
 * computed and checked by the front end (core/tensor/ops) before a kernel runs, and passed in where
 * the kernel cannot trivially derive them.
 */
import type { AnyTypedArray, DType, StorageDType } from '../tensor/dtype.ts';
import type { Int8Direction, Int8Matrix } from '../tensor/int8.ts';
import type { Shape } from '../tensor/shape.ts';
import type { ScopeStack } from '../tensor/scope.ts';

export type DataId = number;
/** A quantized frozen weight a backend holds (core/tensor/int8.ts); not a tensor storage, never differentiated. */
export type Int8Id = number;
export type BackendName = 'cpu' | 'webgpu' | 'wasm';

export interface TensorRef {
  readonly id: DataId;
  readonly shape: Shape;
  readonly dtype: DType;
}

/** A TensorRef that may be f16 storage: only storage, `cast` and `matmul` take one (dtype.ts StorageDType). */
export interface StoredRef {
  readonly id: DataId;
  readonly shape: Shape;
  readonly dtype: StorageDType;
}

export const UNARY_OPS = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'abs',
  'sign',
  'tanh',
  'sigmoid',
  'relu',
  'step',
  'erf',
  'gelu',
  'geluGrad',
  'recip',
  'square',
  'log1p',
  'sin',
  'cos',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];
/** The unary ops that take i32 tensors too (the rest need a float); every backend and the frontend read this. */
export const I32_UNARY_OPS: ReadonlySet<UnaryOp> = new Set(['neg', 'abs', 'sign', 'square', 'relu', 'step']);
/** Why a backend refuses an i32 tensor to the other unary ops (UnsupportedOp's detail). */
export const I32_UNARY_REFUSAL = `integer tensors support only ${[...I32_UNARY_OPS].join(', ')}`;

export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

export const COMPARE_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];

export type ReduceOp = 'sum' | 'max' | 'min';

export interface MatmulOptions {
  /** Read `a` as [..., K, M] and use its transpose. */
  readonly transA: boolean;
  /** Read `b` as [..., N, K] and use its transpose. */
  readonly transB: boolean;
  /**
   * [N], added to every row of an unbatched (2-D) product: a Linear layer's bias, which a kernel can
   * start its accumulators from instead of a separate add over the output.
   */
  readonly bias?: TensorRef;
}

export interface AdamWHyper {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** 1-based step used for bias correction. */
  readonly step: number;
}

export class UnsupportedOp extends Error {
  override readonly name = 'UnsupportedOp';
  constructor(
    readonly op: string,
    readonly backend: BackendName,
    detail = '',
  ) {
    super(`${op} is not supported on the ${backend} backend${detail ? `: ${detail}` : ''}`);
  }
}

export interface Backend {
  readonly name: BackendName;
  /** dtypes this backend stores (WGSL has no f64; WebGPU has f16 only with the adapter feature shader-f16). */
  readonly dtypes: ReadonlySet<StorageDType>;
  /** Tensors created while a scope is open are tracked here (see core/tensor/scope.ts). */
  readonly scopes: ScopeStack;

  // ---- storage ----
  /** Copies `data` (whose element type must match `dtype`) into a new storage. */
  upload(data: AnyTypedArray, dtype: DType): DataId;
  fill(size: number, value: number, dtype: DType): DataId;
  /** Reads a storage back; resolves after all work queued before it has finished. */
  read(ref: StoredRef): Promise<AnyTypedArray>;
  /** Synchronous read, only where the backend can do it (CPU); others throw UnsupportedOp. */
  readSync(ref: StoredRef): AnyTypedArray;
  incRef(id: DataId): void;
  decRef(id: DataId): void;
  /** Number of live storages (for leak tests). */
  live(): number;
  /** Waits for all queued work (a no-op on CPU). */
  flush(): Promise<void>;

  // ---- elementwise ----
  unary(op: UnaryOp, x: TensorRef): DataId;
  /** numpy-broadcast binary op; `a` and `b` share a dtype; output has `outShape`. */
  binary(op: BinaryOp, a: TensorRef, b: TensorRef, outShape: Shape): DataId;
  /** Broadcast comparison; output dtype i32 holding 0 or 1. */
  compare(op: CompareOp, a: TensorRef, b: TensorRef, outShape: Shape): DataId;
  /** Broadcast select: cond (any dtype, nonzero = true) ? a : b; output dtype of a. */
  where(cond: TensorRef, a: TensorRef, b: TensorRef, outShape: Shape): DataId;
  /** Includes f32 → f16 (round to nearest even half, core/tensor/half.ts) and f16 → f32/f64. */
  cast(x: StoredRef, dtype: StorageDType): DataId;

  // ---- reductions ----
  /** Reduces over `axes` (sorted, unique); output shape is x.shape without those axes. */
  reduce(op: ReduceOp, x: TensorRef, axes: readonly number[]): DataId;
  /** Index of the maximum along `axis` (first on ties); i32 output without that axis. */
  argmax(x: TensorRef, axis: number): DataId;

  // ---- linear algebra ----
  /**
   * Batched matmul: a [...A, M, K], b [...B, K, N] (transposes per options); batch dims broadcast to
   * outShape[:-2]. Either operand may be f16; the output is computeDtype of the operands (f32 then).
   */
  matmul(a: StoredRef, b: StoredRef, opts: MatmulOptions, outShape: Shape): DataId;

  // ---- data movement ----
  /** out[i] = x[offset + Σ idx_k · strides[k]] for every index of outShape (permute, expand, slice). */
  strided(x: TensorRef, outShape: Shape, strides: readonly number[], offset: number): DataId;
  /** Pads each axis with `before[k]` and `after[k]` elements of `value`. */
  pad(x: TensorRef, before: readonly number[], after: readonly number[], value: number): DataId;
  concat(xs: readonly TensorRef[], axis: number, outShape: Shape): DataId;
  /** Row gather: table [R, ...rest], indices i32 [...I] → [...I, ...rest]. Out-of-range index throws on CPU. */
  gather(table: TensorRef, indices: TensorRef): DataId;
  /**
   * Row move (a gather whose index −1 gives a zero row): table [R, ...rest], indices i32 [...I] →
   * [...I, ...rest]. Other out-of-range indices behave as in gather. Packed-row layouts use it both
   * ways, so neither direction needs a scatter.
   */
  takeRows(table: TensorRef, indices: TensorRef): DataId;
  /** Inverse of gather: zeros [numRows, ...rest], then out[indices[i]] += updates[i]. */
  scatterAdd(indices: TensorRef, updates: TensorRef, numRows: number): DataId;
  /** indices i32 [...I] → [...I, depth] of 0/1 in `dtype`. */
  oneHot(indices: TensorRef, depth: number, dtype: DType): DataId;

  // ---- fused neural-net kernels (all along the last axis) ----
  softmax(x: TensorRef): DataId;
  logSoftmax(x: TensorRef): DataId;
  /** x [..., C], weight [C], bias [C] → y [..., C], mean [...], rstd [...]. */
  layerNorm(x: TensorRef, weight: TensorRef, bias: TensorRef, eps: number): { y: DataId; mean: DataId; rstd: DataId };
  /** Gradients of layerNorm; dWeight/dBias summed over all rows. */
  layerNormBackward(
    dy: TensorRef,
    x: TensorRef,
    weight: TensorRef,
    mean: TensorRef,
    rstd: TensorRef,
  ): { dx: DataId; dWeight: DataId; dBias: DataId };
  /** dx alone: a frozen weight and bias get no backward work. */
  layerNormBackwardDx(dy: TensorRef, x: TensorRef, weight: TensorRef, mean: TensorRef, rstd: TensorRef): DataId;
  /**
   * Softmax cross-entropy: logits [N, C], i32 labels [N] → per-row loss [N] and log-sum-exp [N].
   * Target (1 − ε)·onehot + ε/C (label smoothing ε); a row labelled `ignoreIndex` has loss 0.
   */
  crossEntropy(
    logits: TensorRef,
    labels: TensorRef,
    ignoreIndex: number,
    smoothing: number,
  ): { loss: DataId; lse: DataId };
  /** d logits [N, C] = dy[n]·(softmax − target), 0 on ignored rows, from the saved lse. */
  crossEntropyBackward(
    dy: TensorRef,
    logits: TensorRef,
    labels: TensorRef,
    lse: TensorRef,
    ignoreIndex: number,
    smoothing: number,
  ): DataId;

  /**
   * Fused scaled-dot-product attention: q [B,H,Tq,Dh], k/v [B,H,Tk,Dh], optional additive `bias`
   * (its own shape, right-aligned and broadcastable to [B,H,Tq,Tk]) → out [B,H,Tq,Dh] and
   * lse [B,H,Tq] = log Σ_j exp(scale·q·k_j + bias_j) per row (−∞ for a row of −∞ scores; out is 0 there).
   */
  attention(
    q: TensorRef,
    k: TensorRef,
    v: TensorRef,
    bias: TensorRef | undefined,
    scale: number,
  ): { out: DataId; lse: DataId };
  /** Gradients of `attention` from the saved out and lse (P recomputed; bias gets none — it is a mask). */
  attentionBackward(
    dOut: TensorRef,
    q: TensorRef,
    k: TensorRef,
    v: TensorRef,
    bias: TensorRef | undefined,
    out: TensorRef,
    lse: TensorRef,
    scale: number,
  ): { dq: DataId; dk: DataId; dv: DataId };

  // ---- int8 frozen weights (optional: a backend without them refuses weightStorage 'int8') ----
  /** Stores a quantized weight (codes and per-channel scales) for int8Matmul. */
  uploadInt8?(w: Int8Matrix): Int8Id;
  releaseInt8?(w: Int8Id): void;
  /**
   * forward: x [M, K] · Wᵀ + bias [N] → [M, N]; backward (the data path): dy [M, N] · W → [M, K]. x is
   * f32; its rows are quantized on the fly; the arithmetic is core/tensor/int8.ts's, bit for bit.
   */
  int8Matmul?(x: TensorRef, w: Int8Id, dir: Int8Direction, bias: TensorRef | undefined): DataId;
  /**
   * Set when this backend has the int8 methods but cannot run them on this device (WebGPU without
   * WGSL's dot4I8Packed): why, for the refusal and the run setup's report of what it used instead.
   */
  readonly int8Refusal?: string | undefined;
  /** What computes the int8 products here, for reports (bench, CLI): absent where they are not run. */
  readonly int8Kernel?: string | undefined;

  // ---- optimiser ----
  /** In-place fused AdamW on param/m/v (same shape, float); grad read only. */
  adamw(param: TensorRef, grad: TensorRef, m: TensorRef, v: TensorRef, h: AdamWHyper): void;
}
