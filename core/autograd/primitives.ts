/**
 * Every primitive by name, the attributes each one records, and the type of its VJP rule. The rules
 * themselves are one table, `vjpRules: { [O in OpName]: VjpRule<O> }` (core/tensor/ops/vjp-rules.ts),
 * so a primitive without a rule does not compile; so does one without a proof case
 * (proofs-tests/ops/vjp-cases.ts).
 *
 * Names follow the backend method that runs the op, with three exceptions, all here:
 * - the reductions are `reduceSum`/`reduceMax`/`reduceMin` (JAX's reduce_sum …), since `max` and
 *   `min` are the binary ops; all three run on `Backend.reduce`;
 * - `compare` covers the six comparisons (`Backend.compare(op, …)`), none differentiable;
 * - the frontend functions of two primitives keep other names: `fusedAttention` runs `attention`
 *   (`attention` in core/tensor/nn.ts is the composite it is tested against) and `moveRows` runs
 *   `takeRows` (it takes a one-to-one RowMap, whose inverse is its VJP; takeRows takes bare indices).
 */
import type { BinaryOp, MatmulOptions, ReduceOp, UnaryOp } from '../backend/backend.ts';
import type { StorageDType } from '../tensor/dtype.ts';
import type { Shape } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';

export type ReduceOpName = `reduce${Capitalize<ReduceOp>}`;

export const reduceOpName = (op: ReduceOp): ReduceOpName =>
  `reduce${op[0]!.toUpperCase()}${op.slice(1)}` as ReduceOpName;

export type OpName =
  | UnaryOp
  | BinaryOp
  | 'compare'
  | 'where'
  | 'cast'
  | ReduceOpName
  | 'argmax'
  | 'reshape'
  | 'permute'
  | 'broadcastTo'
  | 'slice'
  | 'pad'
  | 'concat'
  | 'matmul'
  | 'matmulBias'
  | 'gather'
  | 'scatterAdd'
  | 'takeRows'
  | 'oneHot'
  | 'softmax'
  | 'logSoftmax'
  | 'layerNorm'
  | 'layerNormBackward'
  | 'layerNormBackwardDx'
  | 'crossEntropy'
  | 'crossEntropyBackward'
  | 'attention'
  | 'attentionBackward';

export interface ReduceAttrs {
  readonly axes: readonly number[];
  /** The input's shape with the reduced axes kept as 1. */
  readonly keptShape: Shape;
}
export interface SliceAttrs {
  readonly begin: readonly number[];
  readonly size: readonly number[];
}
export interface PadAttrs {
  readonly before: readonly number[];
  readonly after: readonly number[];
  readonly value: number;
}
export interface LayerNormAttrs {
  readonly eps: number;
}
export interface CrossEntropyAttrs {
  readonly ignoreIndex: number;
  readonly smoothing: number;
}
export interface AttentionAttrs {
  readonly scale: number;
  readonly hasBias: boolean;
}

/** The attributes a primitive records beside its inputs; a primitive not listed records none (null). */
interface OpAttrs extends Record<ReduceOpName, ReduceAttrs> {
  readonly cast: StorageDType;
  readonly argmax: number;
  readonly reshape: Shape;
  readonly permute: readonly number[];
  readonly broadcastTo: Shape;
  readonly slice: SliceAttrs;
  readonly pad: PadAttrs;
  readonly concat: number;
  readonly matmul: MatmulOptions;
  readonly scatterAdd: number;
  readonly oneHot: number;
  readonly layerNorm: LayerNormAttrs;
  readonly crossEntropy: CrossEntropyAttrs;
  readonly attention: AttentionAttrs;
}
export type Attrs<O extends OpName> = O extends keyof OpAttrs ? OpAttrs[O] : null;

export type VjpThunk = () => Tensor;

/**
 * The VJP of one primitive: one thunk per input (undefined: no gradient), so a cotangent is computed
 * only for inputs on a path to the loss. `needs[i]`: whether input i wants a gradient (a rule may skip
 * shared work for the others, e.g. frozen weights). `saved` holds what the forward kept for it.
 */
export type VjpRule<O extends OpName> = (
  dy: Tensor,
  ins: readonly Tensor[],
  out: Tensor,
  attrs: Attrs<O>,
  saved: readonly Tensor[],
  needs: readonly boolean[],
) => readonly (VjpThunk | undefined)[];

export type VjpRules = { readonly [O in OpName]: VjpRule<O> };
