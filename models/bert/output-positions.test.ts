/**
 * `outputPositions`: the last layer computed only for the rows a head reads must give exactly the
 * values and gradients of the full encoder's rows at those positions (f64, both fixture models, with
 * padding, with and without P-tuning v2 prefixes).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  cpuBackend, gather, mul, prngKey, randomNormal, reshape, scope, splitKey, sum, tensor, valueAndGrad,
} from '../../core/index.ts';
import type { PrefixKV } from './layer.ts';
import type { EncoderInputs } from './model.ts';
import { fixtureConfig, fixtureModel } from './testing/hf-fixture.ts';
import { expectWithin } from './testing/within.ts';

const B = 3, T = 7, m = 2;
const POSITIONS = [[0, 4], [6, 0], [2, 2]] as const; // repeats and any order are allowed
const LENGTHS = [7, 5, 3]; // padding: example 1 reads a padded row (6), as a head could

for (const name of ['bert-tiny', 'roberta-tiny'] as const) {
  for (const withPrefix of [false, true]) {
    test(`${name}${withPrefix ? ' + prefix' : ''}: outputPositions rows and gradients equal the full encoder's`, () => {
      const bk = cpuBackend();
      const cfg = fixtureConfig(name);
      const model = fixtureModel(name, bk, 'f64');
      const d = cfg.hiddenSize, H = cfg.numAttentionHeads, R = POSITIONS[0].length;
      scope(bk, () => {
        const [ke, kp, kw] = splitKey(prngKey(7), 3);
        const mask = tensor(bk, Int32Array.from({ length: B * T }, (_, i) => Number(i % T < LENGTHS[Math.floor(i / T)]!)), { shape: [B, T], dtype: 'i32' });
        const positionIds = tensor(bk, Int32Array.from({ length: B * T }, (_, i) => (i % T) + 2), { shape: [B, T], dtype: 'i32' });
        const params = {
          e: randomNormal(bk, ke!, [B, T, d], 0, 1, { dtype: 'f64' }),
          kv: randomNormal(bk, kp!, [cfg.numHiddenLayers, 2, B, H, m, d / H], 0, 1, { dtype: 'f64' }),
        };
        const weights = randomNormal(bk, kw!, [B, R, d], 0, 1, { dtype: 'f64' });
        const flat = tensor(bk, Int32Array.from(POSITIONS.flatMap((ps, b) => ps.map((p) => b * T + p))), { shape: [B * R], dtype: 'i32' });
        const inputs = (p: typeof params): EncoderInputs => {
          const prefix: PrefixKV[] = Array.from({ length: cfg.numHiddenLayers }, (_, l) => {
            const at = (j: number) => reshape(gather(reshape(p.kv, [cfg.numHiddenLayers * 2, B * H * m * (d / H)]), tensor(bk, Int32Array.of(2 * l + j), { shape: [1], dtype: 'i32' })), [B, H, m, d / H]);
            return { key: at(0), value: at(1) };
          });
          return { inputsEmbeds: p.e, attentionMask: mask, positionIds, ...(withPrefix ? { prefix } : {}) };
        };
        const full = (p: typeof params) => reshape(gather(reshape(model.encode(inputs(p)).lastHiddenState, [B * T, d]), flat), [B, R, d]);
        const pruned = (p: typeof params) => model.encode({ ...inputs(p), outputPositions: POSITIONS }).lastHiddenState;
        const [vFull, gFull] = valueAndGrad((p: typeof params) => sum(mul(full(p), weights)))(params);
        const [vPruned, gPruned] = valueAndGrad((p: typeof params) => sum(mul(pruned(p), weights)))(params);
        assert.equal(pruned(params).shape, [B, R, d]);
        expectWithin('rows', pruned(params).dataSync(), full(params).dataSync(), 1e-12, 1e-12);
        expectWithin('loss', vPruned.dataSync(), vFull.dataSync(), 1e-12, 1e-12);
        expectWithin('d/d inputs_embeds', gPruned.e.dataSync(), gFull.e.dataSync(), 1e-12, 1e-10);
        if (withPrefix) expectWithin('d/d prefix', gPruned.kv.dataSync(), gFull.kv.dataSync(), 1e-12, 1e-10);
      });
    });
  }
}

test('outputPositions: a wrong count or an out-of-range position is refused, naming the example', () => {
  const bk = cpuBackend();
  const model = fixtureModel('bert-tiny', bk, 'f64');
  scope(bk, () => {
    const e = randomNormal(bk, prngKey(1), [2, 4, model.cfg.hiddenSize], 0, 1, { dtype: 'f64' });
    const encode = (outputPositions: readonly (readonly number[])[]) => model.encode({ inputsEmbeds: e, outputPositions });
    assert.throws(() => encode([[0]]), /outputPositions has 1 rows for a batch of 2/);
    assert.throws(() => encode([[0], [1, 2]]), /outputPositions\[1\] has 2 positions; every example needs the same count/);
    assert.throws(() => encode([[], []]), /outputPositions\[0\] has 0 positions/);
    assert.throws(() => encode([[0], [4]]), /outputPositions\[1\]\[0\] = 4 is outside the 4 input positions/);
    assert.throws(() => encode([[-1], [0]]), /outputPositions\[0\]\[0\] = -1/);
  });
});

test.run();
