/** PromptGrad core: tensors, ops, autograd and the CPU reference backend. */
export type { Backend, BackendName, TensorRef } from './backend/backend.ts';
export { UnsupportedOp } from './backend/backend.ts';
export { CpuBackend, cpuBackend } from './backend/cpu/index.ts';
export type { DType, FloatDType, StorageDType } from './tensor/dtype.ts';
export { Tensor, type AnyTensor, type NestedArray } from './tensor/tensor.ts';
export { ShapeError, broadcastShapes, sizeOf, type Shape } from './tensor/shape.ts';
export * from './tensor/creation.ts';
export * from './tensor/random.ts';
// The primitives, family by family (their VJPs: core/tensor/ops/vjp-rules.ts); importing ops/index.ts
// installs that table and the walker's helpers on the tape.
import './tensor/ops/index.ts';
export {
  unary,
  neg,
  exp,
  log,
  sqrt,
  rsqrt,
  abs,
  sign,
  tanh,
  sigmoid,
  relu,
  step,
  erf,
  gelu,
  recip,
  square,
  log1p,
  sin,
  cos,
  binary,
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  compare,
  equal,
  notEqual,
  less,
  lessEqual,
  greater,
  greaterEqual,
  where,
  cast,
} from './tensor/ops/elementwise.ts';
export { sum, max, min, mean, argmax, type Axes } from './tensor/ops/reduce.ts';
export {
  reshape,
  invertPermutation,
  permute,
  transpose,
  broadcastTo,
  slice,
  pad,
  concat,
  expandDims,
  squeeze,
  split,
  stack,
} from './tensor/ops/shape-ops.ts';
export { matmul, matmulBias } from './tensor/ops/linalg.ts';
export { gather, scatterAdd, rowMap, invertRowMap, moveRows, oneHot, type RowMap } from './tensor/ops/indexing.ts';
export {
  softmax,
  logSoftmax,
  layerNorm,
  layerNormBackwardDx,
  layerNormBackward,
  softmaxCrossEntropy,
  crossEntropyBackward,
} from './tensor/ops/nn-fused.ts';
export { fusedAttentionMismatch, fusedAttention, attentionBackward } from './tensor/ops/attention.ts';
export { Int8Weight, int8Weight, int8DataGrad, linearInt8 } from './tensor/ops/int8-linear.ts';
export type { TensorLike } from './tensor/ops/bind.ts';
export * from './tensor/nn.ts';
export { grad, keep, scope, stopGradient, valueAndGrad, vjp, type GradOptions } from './autograd/grad.ts';
export { treeLeaves, treeMap, treeMap2, type ParamTree } from './autograd/tree.ts';
