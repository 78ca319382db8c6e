/**
 * Shared helpers for the prompting tests: the bert-tiny fixture model, a tiny random encoder (real
 * HF names, larger-than-HF init so gradients are far from trivial), a random frozen pooler, synthetic
 * batches and a small Adam over parameter trees.
 */
import {
  add,
  div,
  keep,
  mul,
  normalArray,
  prngKey,
  splitKey,
  sqrt,
  sub,
  tensor,
  treeMap,
  treeMap2,
  type Backend,
  type FloatDType,
  type ParamTree,
  type PRNGKey,
  type Tensor,
} from '../../core/index.ts';
import type { BertConfig } from '../../models/bert/config.ts';
import { BertModel } from '../../models/bert/model.ts';
import { Linear } from '../../models/bert/modules.ts';
import { rawTensor, type RawTensor } from '../../models/bert/io/raw-tensor.ts';
import { fixtureModel, HF_FIXTURES } from '../../models/bert/testing/hf-fixture.ts';
import { Weights } from '../../models/bert/weights.ts';
import { tokenBatch, type TokenBatch } from '../../prompting/common.ts';

export const FIXTURE_DIR = new URL('bert-tiny/', HF_FIXTURES);

/** bert-tiny (L=2, d=32, H=4, V=800; MLM checkpoint, no pooler). */
export const loadFixtureModel = (bk: Backend, dtype: FloatDType): BertModel => fixtureModel('bert-tiny', bk, dtype);

export interface TinyShape {
  readonly V: number;
  readonly d: number;
  readonly H: number;
  readonly L: number;
  readonly I: number;
  readonly P: number;
}
export const TINY: TinyShape = { V: 20, d: 8, H: 2, L: 1, I: 16, P: 32 };

function tinyConfig(s: TinyShape): BertConfig {
  return {
    modelType: 'bert',
    architectures: ['BertForMaskedLM'],
    vocabSize: s.V,
    hiddenSize: s.d,
    numHiddenLayers: s.L,
    numAttentionHeads: s.H,
    intermediateSize: s.I,
    hiddenAct: 'gelu',
    maxPositionEmbeddings: s.P,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
    padTokenId: 0,
    bosTokenId: null,
    eosTokenId: null,
    positionEmbeddingType: 'absolute',
    hiddenDropoutProb: 0,
    attentionProbsDropoutProb: 0,
    initializerRange: 0.3,
    classifierDropout: null,
    tieWordEmbeddings: true,
    extra: {},
  };
}

/** A random BERT encoder with a pooler (weights N(0, 0.3²), LayerNorm 1 ± 0.1), seeded. */
export function randomTinyModel(bk: Backend, seed: number, dtype: FloatDType = 'f64', s: TinyShape = TINY): BertModel {
  const cfg = tinyConfig(s);
  const { V, d, I, P, L } = s;
  const specs: [string, number[]][] = [
    ['embeddings.word_embeddings.weight', [V, d]],
    ['embeddings.position_embeddings.weight', [P, d]],
    ['embeddings.token_type_embeddings.weight', [2, d]],
    ['embeddings.LayerNorm.weight', [d]],
    ['embeddings.LayerNorm.bias', [d]],
    ['pooler.dense.weight', [d, d]],
    ['pooler.dense.bias', [d]],
  ];
  for (let i = 0; i < L; i++) {
    const p = `encoder.layer.${i}`;
    for (const n of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense'])
      specs.push([`${p}.${n}.weight`, [d, d]], [`${p}.${n}.bias`, [d]]);
    specs.push(
      [`${p}.intermediate.dense.weight`, [I, d]],
      [`${p}.intermediate.dense.bias`, [I]],
      [`${p}.output.dense.weight`, [d, I]],
      [`${p}.output.dense.bias`, [d]],
    );
    for (const n of ['attention.output.LayerNorm', 'output.LayerNorm'])
      specs.push([`${p}.${n}.weight`, [d]], [`${p}.${n}.bias`, [d]]);
  }
  const keys = splitKey(prngKey(seed), specs.length);
  const m = new Map<string, RawTensor>();
  specs.forEach(([name, shape], i) => {
    const z = normalArray(
      keys[i]!,
      shape.reduce((a, b) => a * b, 1),
    );
    const ln = name.includes('LayerNorm'),
      w = name.endsWith('weight');
    for (let j = 0; j < z.length; j++) z[j] = ln ? (w ? 1 + 0.1 * z[j]! : 0.1 * z[j]!) : (w ? 0.5 : 0.1) * z[j]!;
    m.set(name, rawTensor(name, shape, z));
  });
  return BertModel.load(new Weights(m, 'tiny random encoder'), cfg, bk, dtype);
}

/** A frozen random pooler Linear(d, d) (bert-tiny has none). */
export function randomPooler(model: BertModel, key: PRNGKey): Linear {
  const d = model.cfg.hiddenSize;
  const [kw, kb] = splitKey(key, 2) as [PRNGKey, PRNGKey];
  const t = (k: PRNGKey, shape: number[], std: number) =>
    keep(
      tensor(
        model.bk,
        normalArray(
          k,
          shape.reduce((a, b) => a * b, 1),
        ).map((v) => v * std),
        { shape, dtype: model.dtype },
      ),
    );
  return new Linear(t(kw, [d, d], 1 / Math.sqrt(d)), t(kb, [d], 0.02));
}

/**
 * B rows "[CLS] tokens [SEP] pad…" with per-row lengths; ids drawn from [lo, hi) (cls/sep/pad = 2/3/0
 * unless given). Returns the batch and the host rows.
 */
export function syntheticBatch(
  bk: Backend,
  rows: readonly (readonly number[])[],
  T: number,
  ids: { cls?: number; sep?: number } = {},
): TokenBatch {
  const B = rows.length;
  const inputIds = new Int32Array(B * T),
    mask = new Int32Array(B * T),
    types = new Int32Array(B * T);
  rows.forEach((r, b) => {
    const seq = [ids.cls ?? 2, ...r, ids.sep ?? 3];
    if (seq.length > T) throw new Error(`row ${b} has ${seq.length} tokens > T=${T}`);
    seq.forEach((v, t) => {
      inputIds[b * T + t] = v;
      mask[b * T + t] = 1;
    });
  });
  return tokenBatch(bk, B, T, inputIds, mask, types);
}

/** Adam over a parameter tree (state kept out of scopes). */
export class Adam<P extends ParamTree> {
  private m: P;
  private v: P;
  private t = 0;
  constructor(
    params: P,
    readonly lr: number,
    readonly b1 = 0.9,
    readonly b2 = 0.999,
    readonly eps = 1e-8,
  ) {
    this.m = treeMap(params, (p) => keep(mul(p, 0)));
    this.v = treeMap(params, (p) => keep(mul(p, 0)));
  }
  step(params: P, grads: P): P {
    this.t++;
    const c1 = 1 - this.b1 ** this.t,
      c2 = 1 - this.b2 ** this.t;
    const m = treeMap2(this.m, grads, (a, g) => keep(add(mul(a, this.b1), mul(g, 1 - this.b1))));
    const v = treeMap2(this.v, grads, (a, g) => keep(add(mul(a, this.b2), mul(mul(g, g), 1 - this.b2))));
    const next = treeMap2(
      params,
      treeMap2(m, v, (mi, vi) => div(mul(mi, this.lr / c1), add(sqrt(div(vi, c2)), this.eps))),
      (p, u) => keep(sub(p, u)),
    );
    const dispose = (t: P) =>
      treeMap(t, (x: Tensor) => {
        x.dispose();
        return x;
      });
    dispose(this.m);
    dispose(this.v);
    this.m = m;
    this.v = v;
    return next;
  }
}
