/**
 * Random encoders with real shapes and HF names (no download needed): for benchmarks, demos and
 * property tests. Weights ~ N(0, initializer_range²), LayerNorm ≈ 1/0 perturbed, as HF's init does.
 */
import { normalArray, splitKey, type PRNGKey } from '../../core/index.ts';
import type { BertConfig, ModelType } from './config.ts';
import type { WeightSource } from './modules.ts';
import { rawTensor, type RawTensor } from './io/raw-tensor.ts';
import { requiredBertWeights } from './weight-spec.ts';

export interface EncoderShape {
  readonly modelType?: ModelType;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  readonly intermediateSize: number;
  readonly maxPositionEmbeddings?: number;
}

/** A full BertConfig for the given sizes, other fields at transformers' defaults. */
export function bertConfigFor(s: EncoderShape): BertConfig {
  const roberta = s.modelType === 'roberta';
  return {
    modelType: s.modelType ?? 'bert',
    architectures: [roberta ? 'RobertaForMaskedLM' : 'BertForMaskedLM'],
    vocabSize: s.vocabSize,
    hiddenSize: s.hiddenSize,
    numHiddenLayers: s.numHiddenLayers,
    numAttentionHeads: s.numAttentionHeads,
    intermediateSize: s.intermediateSize,
    hiddenAct: 'gelu',
    maxPositionEmbeddings: s.maxPositionEmbeddings ?? 512,
    typeVocabSize: roberta ? 1 : 2,
    layerNormEps: roberta ? 1e-5 : 1e-12,
    padTokenId: roberta ? 1 : 0,
    bosTokenId: roberta ? 0 : null,
    eosTokenId: roberta ? 2 : null,
    positionEmbeddingType: 'absolute',
    hiddenDropoutProb: 0.1,
    attentionProbsDropoutProb: 0.1,
    initializerRange: 0.02,
    classifierDropout: null,
    tieWordEmbeddings: true,
    extra: {},
  };
}

/** Seeded random weights for every tensor the encoder needs (f64 on the host; the model casts). */
export function randomWeightSource(
  cfg: BertConfig,
  key: PRNGKey,
  opts: { pooler?: boolean; mlmHead?: boolean } = {},
): WeightSource {
  // The same list the loader validates against, less the optional (tied) decoder tensors.
  const specs = requiredBertWeights(cfg, { pooler: opts.pooler ?? true, mlmHead: opts.mlmHead ?? true }).filter(
    ([, , o]) => !o?.optional,
  );
  const keys = splitKey(key, specs.length);
  const tensors = new Map<string, RawTensor>();
  specs.forEach(([name, shape], i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const z = normalArray(keys[i]!, n);
    const isNorm = /LayerNorm|layer_norm/.test(name);
    const isBias = name.endsWith('.bias');
    for (let j = 0; j < n; j++) {
      z[j] = isNorm ? (isBias ? 0.05 * z[j]! : 1 + 0.05 * z[j]!) : isBias ? 0.02 * z[j]! : cfg.initializerRange * z[j]!;
    }
    tensors.set(name, rawTensor(name, [...shape], z));
  });
  return {
    source: 'random encoder',
    has: (n) => tensors.has(n),
    shapeOf: (n) => tensors.get(n)?.shape,
    get: (n, shape) => {
      const t = tensors.get(n);
      if (!t) throw new Error(`random encoder: no tensor ${n}`);
      if (t.shape.join() !== shape.join())
        throw new Error(`random encoder: ${n} is [${t.shape}], asked for [${shape}]`);
      return t;
    },
  };
}
