/**
 * Frozen building blocks shared by the encoder modules: Linear, LayerNorm and Embedding as
 * Hugging Face names them, loaded by full checkpoint name with a shape check.
 */
import {
  gather, keep, layerNorm, linear, tensor, type Backend, type FloatDType, type Tensor,
} from '../../core/index.ts';
import type { RawTensor } from './raw-tensor.ts';

/** Anything that hands out checkpoint tensors by (normalised) name with a shape check. */
export interface WeightSource {
  get(name: string, shape: readonly number[]): RawTensor;
  has(name: string): boolean;
}

/** Where frozen weights go: a backend and the dtype the model runs in. */
export interface LoadContext {
  readonly bk: Backend;
  readonly dtype: FloatDType;
  readonly src: WeightSource;
}

/** Uploads one checkpoint tensor as a frozen constant (kept out of every scope). */
export function frozen(ctx: LoadContext, name: string, shape: readonly number[]): Tensor {
  const raw = ctx.src.get(name, shape);
  return keep(tensor(ctx.bk, raw.data, { shape: raw.shape, dtype: ctx.dtype }));
}

/** torch.nn.Linear: weight [out, in], bias [out]. */
export class Linear {
  constructor(readonly weight: Tensor, readonly bias: Tensor) {}
  static load(ctx: LoadContext, prefix: string, inF: number, outF: number): Linear {
    return new Linear(frozen(ctx, `${prefix}.weight`, [outF, inF]), frozen(ctx, `${prefix}.bias`, [outF]));
  }
  forward(x: Tensor): Tensor { return linear(x, this.weight, this.bias); }
  dispose(): void { this.weight.dispose(); this.bias.dispose(); }
}

/** torch.nn.LayerNorm over the last axis (HF calls it `LayerNorm`, RoBERTa's head `layer_norm`). */
export class LayerNorm {
  constructor(readonly weight: Tensor, readonly bias: Tensor, readonly eps: number) {}
  static load(ctx: LoadContext, prefix: string, dim: number, eps: number): LayerNorm {
    return new LayerNorm(frozen(ctx, `${prefix}.weight`, [dim]), frozen(ctx, `${prefix}.bias`, [dim]), eps);
  }
  forward(x: Tensor): Tensor { return layerNorm(x, this.weight, this.bias, this.eps); }
  dispose(): void { this.weight.dispose(); this.bias.dispose(); }
}

/** torch.nn.Embedding: weight [rows, dim]; lookup by i32 ids. */
export class Embedding {
  constructor(readonly weight: Tensor) {}
  static load(ctx: LoadContext, prefix: string, rows: number, dim: number): Embedding {
    return new Embedding(frozen(ctx, `${prefix}.weight`, [rows, dim]));
  }
  forward(ids: Tensor): Tensor { return gather(this.weight, ids); }
  dispose(): void { this.weight.dispose(); }
}
