/**
 * Frozen building blocks shared by the encoder modules: Linear, LayerNorm and Embedding as
 * Hugging Face names them, loaded by full checkpoint name with a shape check.
 */
import {
  cast,
  gather,
  keep,
  layerNorm,
  linear,
  tensor,
  type AnyTensor,
  type Backend,
  type FloatDType,
  type Tensor,
} from '../../core/index.ts';
import type { RawTensor } from './io/raw-tensor.ts';

/** Anything that hands out checkpoint tensors by (normalised) name with a shape check. */
export interface WeightSource {
  get(name: string, shape: readonly number[]): RawTensor;
  has(name: string): boolean;
}

/**
 * How the frozen dense-layer weights are stored: `f32` as loaded, or `f16` (half the memory and
 * bandwidth; matmul reads the halves and accumulates in f32). Embeddings, LayerNorms and biases stay f32.
 */
export type WeightStorage = 'f32' | 'f16';

/** Where frozen weights go: a backend, the dtype the model runs in, and the dense weights' storage. */
export interface LoadContext {
  readonly bk: Backend;
  readonly dtype: FloatDType;
  readonly src: WeightSource;
  readonly weightStorage: WeightStorage;
}

/** Uploads one checkpoint tensor as a frozen constant (kept out of every scope). */
export function frozen(ctx: LoadContext, name: string, shape: readonly number[]): Tensor {
  const raw = ctx.src.get(name, shape);
  return keep(tensor(ctx.bk, raw.data, { shape: raw.shape, dtype: ctx.dtype }));
}

/** torch.nn.Linear: weight [out, in] (f16 storage when the context says so), bias [out]. */
export class Linear {
  constructor(
    readonly weight: AnyTensor,
    readonly bias: Tensor,
  ) {}
  static load(ctx: LoadContext, prefix: string, inF: number, outF: number): Linear {
    const w = frozen(ctx, `${prefix}.weight`, [outF, inF]);
    if (ctx.weightStorage === 'f32') return new Linear(w, frozen(ctx, `${prefix}.bias`, [outF]));
    const half = keep(cast(w, 'f16'));
    w.dispose();
    return new Linear(half, frozen(ctx, `${prefix}.bias`, [outF]));
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
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
  static load(ctx: LoadContext, prefix: string, dim: number, eps: number): LayerNorm {
    return new LayerNorm(frozen(ctx, `${prefix}.weight`, [dim]), frozen(ctx, `${prefix}.bias`, [dim]), eps);
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
  static load(ctx: LoadContext, prefix: string, rows: number, dim: number): Embedding {
    return new Embedding(frozen(ctx, `${prefix}.weight`, [rows, dim]));
  }
  forward(ids: Tensor): Tensor {
    return gather(this.weight, ids);
  }
  dispose(): void {
    this.weight.dispose();
  }
}
