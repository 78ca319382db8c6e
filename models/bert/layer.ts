/**
 * HF BertLayer and BertEncoder (modeling_bert.py) module by module: BertAttention (attention.ts) →
 * BertIntermediate (dense, act) → BertOutput (dense, dropout, LayerNorm(x + attention output)), and the
 * encoder's stack of layers. Each module loads from its own scope of the weights (`w.at('intermediate')`).
 */
import { add, gelu, mul, pow, relu, splitKey, tanh, type PRNGKey, type Tensor } from '../../core/index.ts';
import { BertAttention, DenseResidualNorm, type AttentionInputs, type PrefixKV } from './attention.ts';
import type { BertConfig, HiddenAct } from './config.ts';
import { LayerNorm, Linear } from './modules.ts';
import { selectRows } from './rows.ts';
import type { WeightScope } from './weight-scope.ts';

export {
  BertAttention,
  BertSelfAttention,
  BertSelfOutput,
  DenseResidualNorm,
  type AttentionInputs,
  type PrefixKV,
} from './attention.ts';

function activation(act: HiddenAct, x: Tensor): Tensor {
  switch (act) {
    case 'gelu':
      return gelu(x);
    case 'relu':
      return relu(x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh': // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      return mul(mul(x, 0.5), add(1, tanh(mul(add(x, mul(pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI)))));
  }
}

/** HF BertIntermediate: dense d → I, then the config's activation. */
export class BertIntermediate {
  constructor(
    readonly dense: Linear,
    readonly act: HiddenAct,
  ) {}
  static load(w: WeightScope, cfg: BertConfig): BertIntermediate {
    return new BertIntermediate(Linear.load(w.at('dense'), cfg.hiddenSize, cfg.intermediateSize), cfg.hiddenAct);
  }
  forward(x: Tensor): Tensor {
    return activation(this.act, this.dense.forward(x));
  }
  dispose(): void {
    this.dense.dispose();
  }
}

/** HF BertOutput: dense I → d, dropout, LayerNorm(x + attention output). */
export class BertOutput extends DenseResidualNorm {
  static load(w: WeightScope, cfg: BertConfig): BertOutput {
    const dense = Linear.load(w.at('dense'), cfg.intermediateSize, cfg.hiddenSize);
    const norm = LayerNorm.load(w.at('LayerNorm'), cfg.hiddenSize, cfg.layerNormEps);
    return new BertOutput(dense, norm, cfg.hiddenDropoutProb);
  }
}

/** One layer's inputs besides its hidden states. */
export interface LayerInputs extends AttentionInputs {
  /**
   * Flat i32 indices into the rows of x, R per example: every row still serves as a key and value,
   * but only these rows are queried and carried through the FFN.
   */
  readonly rows?: Tensor | undefined;
}

export class BertLayer {
  constructor(
    readonly attention: BertAttention,
    readonly intermediate: BertIntermediate,
    readonly output: BertOutput,
  ) {}

  static load(w: WeightScope, cfg: BertConfig): BertLayer {
    const attention = BertAttention.load(w.at('attention'), cfg);
    const intermediate = BertIntermediate.load(w.at('intermediate'), cfg);
    return new BertLayer(attention, intermediate, BertOutput.load(w.at('output'), cfg));
  }

  /** HF's `attention.self` (kept as a name for the callers that inspect the weights' storage). */
  get selfAttention(): BertAttention['self'] {
    return this.attention.self;
  }
  /** HF's `attention.output` (BertSelfOutput), under the name the storage tests read. */
  get attentionOutput(): BertAttention['output'] {
    return this.attention.output;
  }

  /**
   * x [B, T, d] → [B, T, d] (packed [N, d] → [N, d] with `packing`), or [B, R, d] with `rows`: the
   * rows not selected are never computed in this layer's output.
   */
  forward(x: Tensor, inp: LayerInputs): Tensor {
    const [k1, k2, k3] = inp.dropoutKey ? splitKey(inp.dropoutKey, 3) : [];
    const queries = inp.rows ? selectRows(x, inp.rows, inp.maskBias.shape[0]!) : x;
    const attn = this.attention.forward(x, { ...inp, queries, dropoutKey: k1, outputKey: k2 });
    return this.output.forward(this.intermediate.forward(attn), attn, k3);
  }

  dispose(): void {
    this.attention.dispose();
    this.intermediate.dispose();
    this.output.dispose();
  }
}

/** The encoder's inputs besides the embeddings: per-layer prefixes and dropout keys, rows of the last layer. */
export interface EncoderLayerInputs extends Omit<AttentionInputs, 'prefix' | 'dropoutKey'> {
  /** One entry per layer. */
  readonly prefix?: readonly PrefixKV[] | undefined;
  /** One key per layer (train mode). */
  readonly dropoutKeys?: readonly PRNGKey[] | undefined;
  /** The rows the last layer computes (LayerInputs.rows). */
  readonly rows?: Tensor | undefined;
}

/** HF BertEncoder: the stack of layers (`layer.0`, `layer.1`, …). */
export class BertEncoder {
  constructor(readonly layer: readonly BertLayer[]) {}

  static load(w: WeightScope, cfg: BertConfig): BertEncoder {
    const layers = w.at('layer');
    return new BertEncoder(Array.from({ length: cfg.numHiddenLayers }, (_, i) => BertLayer.load(layers.at(i), cfg)));
  }

  forward(h: Tensor, inp: EncoderLayerInputs): Tensor {
    const last = this.layer.length - 1;
    const { prefix, dropoutKeys, rows, ...shared } = inp;
    return this.layer.reduce(
      (x, layer, i) =>
        layer.forward(x, {
          ...shared,
          prefix: prefix?.[i],
          dropoutKey: dropoutKeys?.[i],
          rows: i === last ? rows : undefined,
        }),
      h,
    );
  }

  dispose(): void {
    for (const l of this.layer) l.dispose();
  }
}
