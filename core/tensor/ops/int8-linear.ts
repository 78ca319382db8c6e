/**
 * Linear through an int8 frozen weight (core/tensor/int8.ts): y = x·Wᵀ + b with W quantized once and
 * held by the backend, x's rows quantized on the fly. The weight is not a tensor, so it has no
 * gradient by construction; x gets dx = dy·W through the same int8 product, the bias Σ_rows dy in f32.
 */
import { UnsupportedOp, type Backend, type Int8Id } from '../../backend/backend.ts';
import type { Int8Attrs } from '../../autograd/primitives.ts';
import { quantizeWeights, type Int8Direction, type Int8Matrix } from '../int8.ts';
import { fmt, ShapeError } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { backendOf, bind } from './bind.ts';
import { reshape } from './shape-ops.ts';

/** A quantized frozen weight [N, K] held by one backend; dispose() releases it there. */
export class Int8Weight {
  private released = false;
  constructor(
    readonly backend: Backend,
    readonly id: Int8Id,
    /** [N, K], torch Linear's weight layout. */
    readonly shape: readonly [number, number],
  ) {}
  get isDisposed(): boolean {
    return this.released;
  }
  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.backend.releaseInt8!(this.id);
  }
}

/** Quantizes W [N, K] (f32 values, host side) and stores it on `bk`; `what` names it in errors. */
export function int8Weight(
  bk: Backend,
  w: ArrayLike<number> | Int8Matrix,
  shape: readonly [number, number],
  what = 'weight',
) {
  if (!bk.uploadInt8 || !bk.int8Matmul || bk.int8Refusal)
    throw new UnsupportedOp(
      'int8 weight storage',
      bk.name,
      `${what} ${fmt(shape)}: ${bk.int8Refusal ? `${bk.int8Refusal}; ` : ''}use f32 or f16 storage here`,
    );
  const m = 'q' in w ? w : quantizeWeights(w, shape[0], shape[1], what);
  if (m.rows !== shape[0] || m.cols !== shape[1])
    throw new ShapeError(`int8Weight: ${what} is [${m.rows}, ${m.cols}], want ${fmt(shape)}`);
  return new Int8Weight(bk, bk.uploadInt8(m), shape);
}

type Int8WeightRef = Int8Attrs['w'];

function product(x: Tensor, w: Int8WeightRef, dir: Int8Direction, bias: Tensor | undefined): Tensor {
  const op = dir === 'forward' ? 'linearInt8' : 'linearInt8Dx';
  const bk = backendOf(op, bias ? [x, bias] : [x]);
  if (w.isDisposed) throw new Error(`${op}: int8 weight ${fmt(w.shape)} was already disposed`);
  if (w.backend !== bk) throw new Error(`${op}: the int8 weight lives on ${w.backend.name}, x on ${bk.name}`);
  if (x.dtype !== 'f32') throw new TypeError(`${op}: int8 weights take f32 inputs, got ${x.dtype} ${fmt(x.shape)}`);
  const [N, K] = w.shape;
  const inner = dir === 'forward' ? K : N,
    outer = dir === 'forward' ? N : K;
  if (x.rank !== 2 || x.shape[1] !== inner)
    throw new ShapeError(
      `${op}: input ${fmt(x.shape)} does not match int8 weight ${fmt(w.shape)} (want [M, ${inner}])`,
    );
  if (bias && (bias.dtype !== 'f32' || bias.rank !== 1 || bias.shape[0] !== N))
    throw new ShapeError(`${op}: bias ${bias.dtype} ${fmt(bias.shape)}, want f32 [${N}]`);
  const shape = [x.shape[0]!, outer];
  const id = bk.int8Matmul!(x, w.id, dir, bias);
  return bind(op, bias ? [x, bias] : [x], { w }, { id, shape, dtype: 'f32' });
}

/**
 * y [M, N] · W → [M, K] through the int8 product: linearInt8's data-path VJP (dx = dy·W), and any product
 * backwards through a frozen weight (the folded attention's q·Wk, models/bert/attention-folded.ts). Its own
 * VJP (core/tensor/ops/vjp-rules.ts) goes back through x·Wᵀ. The rules are straight-through: the gradient of
 * the dequantized product.
 */
export const int8DataGrad = (dy: Tensor, w: Int8WeightRef): Tensor => product(dy, w, 'backward', undefined);
/** x [M, K] · Wᵀ, no bias (linearInt8Dx's VJP). */
export const int8Forward = (x: Tensor, w: Int8WeightRef): Tensor => product(x, w, 'forward', undefined);

/** x [..., K] · Wᵀ (+ bias [N]) → [..., N] through the int8 weight. */
export function linearInt8(x: Tensor, w: Int8Weight, bias?: Tensor): Tensor {
  const K = w.shape[1];
  if (x.shape.at(-1) !== K)
    throw new ShapeError(
      `linearInt8: input ${fmt(x.shape)} does not match int8 weight ${fmt(w.shape)} (want [..., ${K}])`,
    );
  const y = product(reshape(x, [-1, K]), w, 'forward', bias);
  return reshape(y, [...x.shape.slice(0, -1), w.shape[0]]);
}
