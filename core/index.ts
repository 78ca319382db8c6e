/** PromptGrad core: tensors, ops, autograd and the CPU reference backend. */
export type { Backend, BackendName, TensorRef } from './backend/backend.ts';
export { UnsupportedOp } from './backend/backend.ts';
export { CpuBackend, cpuBackend } from './backend/cpu/index.ts';
export type { DType, FloatDType, StorageDType } from './tensor/dtype.ts';
export { Tensor, type AnyTensor, type NestedArray } from './tensor/tensor.ts';
export { ShapeError, broadcastShapes, sizeOf, type Shape } from './tensor/shape.ts';
export * from './tensor/creation.ts';
export * from './tensor/random.ts';
export * from './tensor/ops/index.ts';
export * from './tensor/nn.ts';
export { grad, keep, scope, stopGradient, valueAndGrad, vjp, type GradOptions } from './autograd/grad.ts';
export { treeLeaves, treeMap, treeMap2, type ParamTree } from './autograd/tree.ts';
