/**
 * The trainable encoder as a flat parameter tree `{ "encoder.layer.0.attention.self.query.weight":
 * Tensor, … }` keyed by normalised HF names (no `bert.` prefix), and a BertModel that wraps such
 * tensors as they are — no copy, no `keep` — so a model built inside `valueAndGrad` from traced
 * leaves carries the trace through every weight. The model is built by the same module loaders as a
 * checkpoint's (BertModel.fromWeights), from a tensor source that hands the parameters over as they are.
 */
import {
  keep,
  normalArray,
  splitKey,
  tensor,
  type Backend,
  type FloatDType,
  type Int8Weight,
  type PRNGKey,
  type Tensor,
} from '../core/index.ts';
import type { BertConfig } from '../models/bert/config.ts';
import { BertModel } from '../models/bert/model.ts';
import { WeightScope, type OptionalPart, type TensorProvider } from '../models/bert/weight-scope.ts';
import { rawTensor, type RawTensor } from '../models/bert/io/raw-tensor.ts';
import { requiredBertWeights } from '../models/bert/weight-spec.ts';

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

/**
 * The parameter tree as the loaders' tensor source: every tensor handed over as it is (no copy, no `keep`),
 * so a model built from traced leaves carries the trace; the MLM head is loaded, the pooler is not.
 */
class ParamTensors implements TensorProvider {
  constructor(
    readonly bk: Backend,
    readonly dtype: FloatDType,
    private readonly params: EncoderParams,
  ) {}
  has(name: string): boolean {
    return name in this.params;
  }
  tensor(name: string): Tensor {
    const t = this.params[name];
    if (!t) throw new Error(`pretrain/params: no parameter ${name}`);
    return t;
  }
  int8(name: string): Int8Weight {
    throw new Error(`pretrain/params: ${name} is a trainable parameter, never stored int8`);
  }
  tied(): void {}
  part(kind: OptionalPart): 'absent' | 'required' {
    return kind === 'mlmHead' ? 'required' : 'absent';
  }
}

/** A BertModel (with MLM head, decoder tied to the word embeddings) over the given tensors. */
export function bertFromTensors(cfg: BertConfig, bk: Backend, dtype: FloatDType, p: EncoderParams): BertModel {
  checkParams(cfg, p);
  return BertModel.fromWeights(new WeightScope(new ParamTensors(bk, dtype, p)), cfg);
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
