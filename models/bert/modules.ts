/**
 * Frozen building blocks shared by the encoder modules: Linear, LayerNorm and Embedding as
 * torch names their tensors, each loaded from a scoped weights view (`Linear.load(w.at('query'), d, d)`).
 */
import {
  add,
  gather,
  int8DataGrad,
  layerNorm,
  linear,
  linearInt8,
  matmul,
  Int8Weight,
  type AnyTensor,
  type Tensor,
} from '../../core/index.ts';
import type { WeightScope } from './weight-scope.ts';

// the weight source and storage types live with the scoped view the loaders walk; re-exported where they were
export { WEIGHT_STORAGES, type WeightSource, type WeightStorage } from './weight-scope.ts';

/** torch.nn.Linear: weight [out, in] (f16 or int8 storage when the context says so), bias [out]. */
export class Linear {
  constructor(
    readonly weight: AnyTensor | Int8Weight,
    readonly bias: Tensor,
  ) {}
  static load(w: WeightScope, inF: number, outF: number): Linear {
    const weight = w.denseWeight('weight', [outF, inF]);
    return new Linear(weight, w.tensor('bias', [outF]));
  }
  forward(x: Tensor): Tensor {
    return this.weight instanceof Int8Weight
      ? linearInt8(x, this.weight, this.bias)
      : linear(x, this.weight, this.bias);
  }
  /** x·Wᵀ without the bias. */
  project(x: Tensor): Tensor {
    return this.weight instanceof Int8Weight ? linearInt8(x, this.weight) : linear(x, this.weight);
  }
  /** y [M, out] · W → [M, in]: the product backwards through the weight (attention-folded.ts). */
  projectBack(y: Tensor): Tensor {
    return this.weight instanceof Int8Weight ? int8DataGrad(y, this.weight) : matmul(y, this.weight);
  }
  addBias(y: Tensor): Tensor {
    return add(y, this.bias);
  }
  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}

/** torch.nn.LayerNorm over the last axis (HF calls it `LayerNorm`, RoBERTa's head `layer_norm`). */
export class LayerNorm {
  constructor(
    readonly weight: Tensor,
    readonly bias: Tensor,
    readonly eps: number,
  ) {}
  static load(w: WeightScope, dim: number, eps: number): LayerNorm {
    const weight = w.tensor('weight', [dim]);
    return new LayerNorm(weight, w.tensor('bias', [dim]), eps);
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}

/** torch.nn.Embedding: weight [rows, dim]; lookup by i32 ids. */
export class Embedding {
  constructor(readonly weight: Tensor) {}
  static load(w: WeightScope, rows: number, dim: number): Embedding {
    return new Embedding(w.tensor('weight', [rows, dim]));
  }
  forward(ids: Tensor): Tensor {
    return gather(this.weight, ids);
  }
  dispose(): void {
    this.weight.dispose();
  }
}
