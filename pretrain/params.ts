/**
 * The trainable encoder as a flat parameter tree `{ "encoder.layer.0.attention.self.query.weight":
 * Tensor, … }` keyed by normalised HF names (no `bert.` prefix), and a BertModel that wraps such
 * tensors as they are — no copy, no `keep` — so a model built inside `valueAndGrad` from traced
 * leaves carries the trace through every weight. Only public constructors of models/bert are used;
 * the existing loaders (which upload RawTensors as frozen constants) are untouched.
 */
import {
  keep,
  normalArray,
  splitKey,
  tensor,
  type Backend,
  type FloatDType,
  type PRNGKey,
  type Tensor,
} from '../core/index.ts';
import type { BertConfig } from '../models/bert/config.ts';
import { BertEmbeddings } from '../models/bert/embeddings.ts';
import { BertLayer, BertSelfAttention, DenseResidualNorm } from '../models/bert/layer.ts';
import { BertModel, MlmHead } from '../models/bert/model.ts';
import { Embedding, LayerNorm, Linear } from '../models/bert/modules.ts';
import { rawTensor, type RawTensor } from '../models/bert/io/raw-tensor.ts';
import { requiredBertWeights } from '../models/bert/weights.ts';

export type EncoderParams = Readonly<Record<string, Tensor>>;

/** (name, shape) of every trainable tensor: encoder + MLM head, decoder tied (so absent), no pooler. */
export const paramSpec = (cfg: BertConfig): readonly (readonly [string, readonly number[]])[] =>
  requiredBertWeights(cfg, { mlmHead: true })
    .filter(([, , o]) => !o?.optional)
    .map(([n, s]) => [n, s] as const);

/** HF's _init_weights: N(0, initializer_range²) for matrices and embeddings, LayerNorm 1/0, biases 0. */
export function initParams(cfg: BertConfig, key: PRNGKey): RawTensor[] {
  const spec = paramSpec(cfg);
  const keys = splitKey(key, spec.length);
  return spec.map(([name, shape], i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float64Array;
    if (name.endsWith('.bias')) data = new Float64Array(n);
    else if (/LayerNorm\.weight$/.test(name)) data = new Float64Array(n).fill(1);
    else data = normalArray(keys[i]!, n).map((z) => z * cfg.initializerRange);
    return rawTensor(name, shape, data);
  });
}

/** Uploads raw tensors as parameters (kept out of every scope; the caller owns them). */
export function uploadParams(bk: Backend, dtype: FloatDType, raws: readonly RawTensor[]): EncoderParams {
  return Object.fromEntries(raws.map((r) => [r.name, keep(tensor(bk, r.data, { shape: r.shape, dtype }))]));
}

/** Checks names and shapes of a parameter tree against the config; throws listing every problem. */
export function checkParams(cfg: BertConfig, p: EncoderParams): void {
  const problems: string[] = [];
  for (const [name, shape] of paramSpec(cfg)) {
    const t = p[name];
    if (!t) problems.push(`missing ${name} [${shape.join(', ')}]`);
    else if (t.shape.join() !== shape.join())
      problems.push(`${name}: want [${shape.join(', ')}], got [${t.shape.join(', ')}]`);
  }
  if (problems.length)
    throw new Error(`pretrain/params: parameter tree does not match the config: ${problems.join('; ')}`);
}

/** A BertModel (with MLM head, decoder tied to the word embeddings) over the given tensors. */
export function bertFromTensors(cfg: BertConfig, bk: Backend, dtype: FloatDType, p: EncoderParams): BertModel {
  checkParams(cfg, p);
  const g = (n: string): Tensor => p[n]!;
  const lin = (pre: string) => new Linear(g(`${pre}.weight`), g(`${pre}.bias`));
  const ln = (pre: string) => new LayerNorm(g(`${pre}.weight`), g(`${pre}.bias`), cfg.layerNormEps);
  const emb = new BertEmbeddings(
    new Embedding(g('embeddings.word_embeddings.weight')),
    new Embedding(g('embeddings.position_embeddings.weight')),
    new Embedding(g('embeddings.token_type_embeddings.weight')),
    ln('embeddings.LayerNorm'),
    cfg,
  );
  const layers = Array.from({ length: cfg.numHiddenLayers }, (_, i) => {
    const q = `encoder.layer.${i}`;
    return new BertLayer(
      new BertSelfAttention(
        lin(`${q}.attention.self.query`),
        lin(`${q}.attention.self.key`),
        lin(`${q}.attention.self.value`),
        cfg.numAttentionHeads,
        cfg.attentionProbsDropoutProb,
      ),
      new DenseResidualNorm(
        lin(`${q}.attention.output.dense`),
        ln(`${q}.attention.output.LayerNorm`),
        cfg.hiddenDropoutProb,
      ),
      lin(`${q}.intermediate.dense`),
      new DenseResidualNorm(lin(`${q}.output.dense`), ln(`${q}.output.LayerNorm`), cfg.hiddenDropoutProb),
      cfg.hiddenAct,
    );
  });
  const head = new MlmHead(
    lin('cls.predictions.transform.dense'),
    ln('cls.predictions.transform.LayerNorm'),
    emb.wordEmbeddings.weight,
    g('cls.predictions.bias'),
    false,
  );
  return new BertModel(cfg, dtype, bk, emb, layers, undefined, head);
}

/** Host copies of the parameters (f32 or f64, as stored), named as in the tree. */
export async function paramsToRaw(p: EncoderParams): Promise<RawTensor[]> {
  const out: RawTensor[] = [];
  for (const name of Object.keys(p).sort()) {
    const t = p[name]!;
    const d = await t.data();
    if (!(d instanceof Float32Array || d instanceof Float64Array))
      throw new Error(`pretrain/params: ${name} is not a float tensor`);
    out.push(rawTensor(name, t.shape, d));
  }
  return out;
}
