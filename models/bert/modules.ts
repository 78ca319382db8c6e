/**
 * Frozen building blocks shared by the encoder modules: Linear, LayerNorm and Embedding as
 * Hugging Face names them, loaded by full checkpoint name with a shape check.
 */
import {
  cast,
  gather,
  int8Weight,
  keep,
  layerNorm,
  linear,
  linearInt8,
  Int8Weight,
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
 * How the frozen dense-layer weights are stored: `f32` as loaded, `f16` (half the memory and
 * bandwidth; matmul reads the halves and accumulates in f32), or `int8` (a quarter; 7-bit symmetric
 * codes per output channel, inputs quantized per row on the fly, integer products: core/tensor/int8.ts).
 * Embeddings, LayerNorms and biases stay f32.
 */
export type WeightStorage = 'f32' | 'f16' | 'int8';
export const WEIGHT_STORAGES: readonly WeightStorage[] = ['f32', 'f16', 'int8'];

/** Where frozen weights go: a backend, the dtype the model runs in, and the dense weights' storage. */
export interface LoadContext {
  readonly bk: Backend;
  readonly dtype: FloatDType;
  readonly src: WeightSource;
  readonly weightStorage: WeightStorage;
  /** Dense layers (by checkpoint prefix, e.g. `encoder.layer.3.output.dense`) kept f32 under f16/int8 storage. */
  readonly keepF32?: (prefix: string) => boolean;
}

/** Uploads one checkpoint tensor as a frozen constant (kept out of every scope). */
export function frozen(ctx: LoadContext, name: string, shape: readonly number[]): Tensor {
  const raw = ctx.src.get(name, shape);
  return keep(tensor(ctx.bk, raw.data, { shape: raw.shape, dtype: ctx.dtype }));
}

/** torch.nn.Linear: weight [out, in] (f16 or int8 storage when the context says so), bias [out]. */
export class Linear {
  constructor(
    readonly weight: AnyTensor | Int8Weight,
    readonly bias: Tensor,
  ) {}
  static load(ctx: LoadContext, prefix: string, inF: number, outF: number): Linear {
    const bias = frozen(ctx, `${prefix}.bias`, [outF]);
    const storage = ctx.keepF32?.(prefix) ? 'f32' : ctx.weightStorage;
    if (storage === 'int8') {
      const name = `${prefix}.weight`;
      return new Linear(int8Weight(ctx.bk, ctx.src.get(name, [outF, inF]).data, [outF, inF], name), bias);
    }
    const w = frozen(ctx, `${prefix}.weight`, [outF, inF]);
    if (storage === 'f32') return new Linear(w, bias);
    const half = keep(cast(w, 'f16'));
    w.dispose();
    return new Linear(half, bias);
  }
  forward(x: Tensor): Tensor {
    return this.weight instanceof Int8Weight
      ? linearInt8(x, this.weight, this.bias)
      : linear(x, this.weight, this.bias);
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
