/**
 * MLM pretraining: BERT masking statistics, the full backward to every weight (finite differences
 * in f64), and a tiny model that learns a repeated sentence.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuBackend, prngKey, randIntArray, valueAndGrad, type Tensor } from '../../core/index.ts';
import { bertConfigFor } from '../../models/bert/random-weights.ts';
import { rawTensor, type RawTensor } from '../../models/bert/io/raw-tensor.ts';
import { adamw, noDecayOnBiasAndNorm } from '../../training/optimizer.ts';
import { IGNORE, maskTokens, mlmLoss, stepKey, trainStep, type MaskedBatch } from '../../pretrain/mlm.ts';
import { initParams, uploadParams } from '../../pretrain/params.ts';

const bk = cpuBackend();
const SPECIAL = new Set([0, 1, 2, 3, 4]);
const MASK = 4;

test('masking: 15 % selected, 80/10/10 split, specials never touched, deterministic', () => {
  const V = 1000,
    B = 256,
    T = 128;
  const ids = randIntArray(prngKey(1), B * T, V - 5).map((x) => x + 5);
  for (let b = 0; b < B; b++) {
    ids[b * T] = 2;
    ids[b * T + T - 1] = 3;
    ids[b * T + 5] = 0;
  }
  const o = { vocabSize: V, maskId: MASK, specialIds: SPECIAL };
  const m = maskTokens(ids, B, T, prngKey(7), o);
  const again = maskTokens(ids, B, T, prngKey(7), o);
  assert.equal([...m.inputIds], [...again.inputIds]);
  assert.equal([...m.positions], [...again.positions]);
  const eligible = ids.filter((x) => !SPECIAL.has(x)).length;
  const n = m.positions.length;
  assert.ok(Math.abs(n / eligible - 0.15) < 0.008, `selected ${n / eligible}`);
  let masked = 0,
    random = 0,
    kept = 0;
  m.positions.forEach((p, i) => {
    assert.ok(!SPECIAL.has(ids[p]!), 'a special token was selected');
    assert.is(m.labels[i], ids[p]);
    if (m.inputIds[p] === MASK) masked++;
    else if (m.inputIds[p] === ids[p]) kept++;
    else random++;
  });
  assert.ok(Math.abs(masked / n - 0.8) < 0.015, `mask share ${masked / n}`);
  assert.ok(Math.abs(random / n - 0.1) < 0.012, `random share ${random / n}`);
  assert.ok(Math.abs(kept / n - 0.1) < 0.012, `kept share ${kept / n}`);
  const sel = new Set(m.positions);
  ids.forEach((id, i) => {
    if (!sel.has(i)) assert.is(m.inputIds[i], id, `unselected position ${i} changed`);
  });
  for (let i = 0; i < m.inputIds.length; i++)
    if (m.inputIds[i] !== MASK && m.inputIds[i] !== ids[i])
      assert.ok(m.inputIds[i]! >= 5, 'random replacement is a special token');
  // maxPredictions: the same selection, padded with ignored entries to a fixed count.
  const padded = maskTokens(ids, B, T, prngKey(7), { ...o, maxPredictions: n + 10 });
  assert.equal([...padded.positions.slice(0, n)], [...m.positions]);
  assert.equal([...padded.labels.slice(n)], new Array(10).fill(IGNORE));
  assert.equal([...padded.inputIds], [...m.inputIds]);
  const capped = maskTokens(ids, B, T, prngKey(7), { ...o, maxPredictions: 100 });
  assert.is(capped.positions.length, 100);
  assert.is(capped.inputIds.filter((x, i) => x !== ids[i]).length <= 100, true);
});

test('gradient of the MLM loss w.r.t. weights matches central finite differences (f64)', () => {
  const cfg = bertConfigFor({
    vocabSize: 30,
    hiddenSize: 8,
    numHiddenLayers: 1,
    numAttentionHeads: 2,
    intermediateSize: 16,
    maxPositionEmbeddings: 16,
  });
  const raws = initParams(cfg, prngKey(3)).map((r) =>
    rawTensor(
      r.name,
      r.shape,
      Float64Array.from(r.data, (x, i) => x * 5 + (r.name.endsWith('bias') ? 0.01 * Math.sin(i) : 0)),
    ),
  );
  const ids = Int32Array.from([2, 7, 9, 11, 5, 3, 2, 13, 8, 21, 6, 3]);
  const batch: MaskedBatch = {
    ...maskTokens(ids, 2, 6, prngKey(5), {
      vocabSize: 30,
      maskId: MASK,
      specialIds: SPECIAL,
      maskProb: 0.5,
      maxPredictions: 8,
    }),
  };
  assert.ok(batch.labels.includes(IGNORE), 'the batch should hold padding entries');
  const ctx = { cfg, bk, dtype: 'f64' as const };
  const lossAt = (rs: readonly RawTensor[]): number => mlmLoss(ctx)(uploadParams(bk, 'f64', rs), batch).itemSync();
  const [, grads] = valueAndGrad(mlmLoss(ctx))(uploadParams(bk, 'f64', raws), batch);
  for (const name of [
    'encoder.layer.0.attention.self.query.weight',
    'embeddings.word_embeddings.weight',
    'cls.predictions.transform.dense.weight',
    'embeddings.LayerNorm.weight',
  ]) {
    const g = (grads[name] as Tensor).dataSync();
    const idx = raws.findIndex((r) => r.name === name);
    const r = raws[idx]!;
    for (const j of [0, 3, Math.floor(r.data.length / 2), r.data.length - 1]) {
      const h = 1e-6;
      const shifted = (d: number) =>
        raws.map((x, k) =>
          k === idx
            ? rawTensor(
                x.name,
                x.shape,
                Float64Array.from(x.data, (v, i) => (i === j ? v + d : v)),
              )
            : x,
        );
      const fd = (lossAt(shifted(h)) - lossAt(shifted(-h))) / (2 * h);
      assert.ok(
        Math.abs(fd - g[j]!) < 1e-6 + 1e-5 * Math.abs(fd),
        `${name}[${j}]: autodiff ${g[j]} vs finite difference ${fd}`,
      );
    }
  }
});

test('a tiny model (d=16, 1 layer, vocab 100) trained 30 steps on a repeated sentence cuts the MLM loss', () => {
  const V = 100,
    T = 16,
    B = 8;
  const cfg = bertConfigFor({
    vocabSize: V,
    hiddenSize: 16,
    numHiddenLayers: 1,
    numAttentionHeads: 2,
    intermediateSize: 32,
    maxPositionEmbeddings: T,
  });
  const sentence = [2, 10, 23, 37, 41, 52, 68, 70, 71, 15, 88, 93, 44, 30, 61, 3];
  const ids = Int32Array.from({ length: B * T }, (_, i) => sentence[i % T]!);
  const ctx = { cfg, bk, dtype: 'f32' as const };
  const opt = adamw({ weightDecay: 0.01, decayMask: noDecayOnBiasAndNorm, inPlace: true });
  let params = uploadParams(bk, 'f32', initParams(cfg, prngKey(0)));
  let state = opt.init(params);
  const losses: number[] = [];
  for (let s = 0; s < 30; s++) {
    const b = maskTokens(ids, B, T, stepKey(prngKey(1), s), { vocabSize: V, maskId: MASK, specialIds: SPECIAL });
    const r = trainStep(ctx, opt, params, state, b, 2e-2);
    params = r.params;
    state = r.opt;
    losses.push(r.loss);
  }
  const first = losses.slice(0, 3).reduce((x, y) => x + y) / 3,
    last = losses.slice(-3).reduce((x, y) => x + y) / 3;
  assert.ok(first > 4, `initial loss ${first} should be near ln 100`);
  assert.ok(last < 0.35 * first, `loss went ${first.toFixed(3)} → ${last.toFixed(3)}`);
});

test.run();
