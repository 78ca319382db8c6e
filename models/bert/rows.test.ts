/**
 * Rows left out of the encoder — `outputPositions` (the last layer computes only the rows a head
 * reads) and `skipPadding` (no layer computes padding rows) — must give exactly the values and
 * gradients of the full encoder's rows (f64, both fixture models, with padding, with and without
 * P-tuning v2 prefixes).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  cpuBackend,
  gather,
  mul,
  prngKey,
  randomNormal,
  reshape,
  scope,
  splitKey,
  sum,
  tensor,
  valueAndGrad,
} from '../../core/index.ts';
import type { PrefixKV } from './layer.ts';
import type { EncoderInputs } from './model.ts';
import { fixtureConfig, fixtureModel } from './testing/hf-fixture.ts';
import { expectWithin } from './testing/within.ts';

const B = 3,
  T = 7,
  m = 2;
const LENGTHS = [7, 5, 3];
// repeats and any order are allowed; without skipPadding a head may read a padding row (example 1, row 6)
const POSITIONS = [
  [0, 4],
  [6, 0],
  [2, 2],
] as const;
const KEPT_POSITIONS = [
  [0, 4],
  [4, 0],
  [2, 2],
] as const;
/** [B·T] 1 = a token row, 0 = padding. */
const HOST_MASK = Int32Array.from({ length: B * T }, (_, i) => Number(i % T < LENGTHS[Math.floor(i / T)]!));
type Mode = { readonly positions: boolean; readonly skipPadding: boolean };
const MODES: readonly Mode[] = [
  { positions: true, skipPadding: false },
  { positions: false, skipPadding: true },
  { positions: true, skipPadding: true },
];

for (const name of ['bert-tiny', 'roberta-tiny'] as const) {
  for (const withPrefix of [false, true]) {
    for (const mode of MODES) {
      const label = [mode.positions && 'outputPositions', mode.skipPadding && 'skipPadding']
        .filter(Boolean)
        .join(' + ');
      test(`${name}${withPrefix ? ' + prefix' : ''}: ${label} rows and gradients equal the full encoder's`, () => {
        const bk = cpuBackend();
        const cfg = fixtureConfig(name);
        const model = fixtureModel(name, bk, 'f64');
        const d = cfg.hiddenSize,
          H = cfg.numAttentionHeads;
        const positions = mode.skipPadding ? KEPT_POSITIONS : POSITIONS;
        // the rows compared: the positions read, or every token row (padding rows come out 0)
        const compared = mode.positions
          ? positions.map((ps) => [...ps])
          : LENGTHS.map((n) => Array.from({ length: n }, (_, t) => t));
        const R = mode.positions ? positions[0].length : T;
        scope(bk, () => {
          const [ke, kp, kw] = splitKey(prngKey(7), 3);
          const mask = tensor(bk, HOST_MASK, { shape: [B, T], dtype: 'i32' });
          const positionIds = tensor(
            bk,
            Int32Array.from({ length: B * T }, (_, i) => (i % T) + 2),
            { shape: [B, T], dtype: 'i32' },
          );
          const params = {
            e: randomNormal(bk, ke!, [B, T, d], 0, 1, { dtype: 'f64' }),
            kv: randomNormal(bk, kp!, [cfg.numHiddenLayers, 2, B, H, m, d / H], 0, 1, { dtype: 'f64' }),
          };
          const weights = randomNormal(bk, kw!, [B, R, d], 0, 1, { dtype: 'f64' });
          // [B, R, d] cotangent weights, zero on the grid rows not compared
          const wMask = tensor(
            bk,
            Float64Array.from({ length: B * R * d }, (_, i) => {
              const b = Math.floor(i / (R * d)),
                r = Math.floor(i / d) % R;
              return mode.positions || compared[b]!.includes(r) ? 1 : 0;
            }),
            { shape: [B, R, d], dtype: 'f64' },
          );
          const inputs = (p: typeof params): EncoderInputs => {
            const prefix: PrefixKV[] = Array.from({ length: cfg.numHiddenLayers }, (_, l) => {
              const at = (j: number) =>
                reshape(
                  gather(
                    reshape(p.kv, [cfg.numHiddenLayers * 2, B * H * m * (d / H)]),
                    tensor(bk, Int32Array.of(2 * l + j), { shape: [1], dtype: 'i32' }),
                  ),
                  [B, H, m, d / H],
                );
              return { key: at(0), value: at(1) };
            });
            return { inputsEmbeds: p.e, attentionMask: mask, positionIds, ...(withPrefix ? { prefix } : {}) };
          };
          const flat = Int32Array.from(positions.flatMap((ps, b) => ps.map((q) => b * T + q)));
          const full = (p: typeof params) => {
            const h = model.encode(inputs(p)).lastHiddenState;
            return mul(
              mode.positions
                ? reshape(gather(reshape(h, [B * T, d]), tensor(bk, flat, { shape: [B * R], dtype: 'i32' })), [B, R, d])
                : h,
              wMask,
            );
          };
          const pruned = (p: typeof params) =>
            mul(
              model.encode({
                ...inputs(p),
                ...(mode.positions ? { outputPositions: positions } : {}),
                ...(mode.skipPadding ? { skipPadding: true, hostAttentionMask: HOST_MASK } : {}),
              }).lastHiddenState,
              wMask,
            );
          const [vFull, gFull] = valueAndGrad((p: typeof params) => sum(mul(full(p), weights)))(params);
          const [vPruned, gPruned] = valueAndGrad((p: typeof params) => sum(mul(pruned(p), weights)))(params);
          assert.equal(pruned(params).shape, [B, R, d]);
          expectWithin('rows', pruned(params).dataSync(), full(params).dataSync(), 1e-12, 1e-12);
          if (mode.skipPadding && !mode.positions) {
            const raw = model
              .encode({ ...inputs(params), skipPadding: true, hostAttentionMask: HOST_MASK })
              .lastHiddenState.dataSync();
            assert.ok(
              Array.from(raw).every((x, i) => HOST_MASK[Math.floor(i / d)] === 1 || x === 0),
              'padding rows are 0',
            );
          }
          expectWithin('loss', vPruned.dataSync(), vFull.dataSync(), 1e-12, 1e-12);
          expectWithin('d/d inputs_embeds', gPruned.e.dataSync(), gFull.e.dataSync(), 1e-12, 1e-10);
          if (withPrefix) expectWithin('d/d prefix', gPruned.kv.dataSync(), gFull.kv.dataSync(), 1e-12, 1e-10);
        });
      });
    }
  }
}

test('outputPositions: a wrong count or an out-of-range position is refused, naming the example', () => {
  const bk = cpuBackend();
  const model = fixtureModel('bert-tiny', bk, 'f64');
  scope(bk, () => {
    const e = randomNormal(bk, prngKey(1), [2, 4, model.cfg.hiddenSize], 0, 1, { dtype: 'f64' });
    const encode = (outputPositions: readonly (readonly number[])[]) =>
      model.encode({ inputsEmbeds: e, outputPositions });
    assert.throws(() => encode([[0]]), /outputPositions has 1 rows for a batch of 2/);
    assert.throws(
      () => encode([[0], [1, 2]]),
      /outputPositions\[1\] has 2 positions; every example needs the same count/,
    );
    assert.throws(() => encode([[], []]), /outputPositions\[0\] has 0 positions/);
    assert.throws(() => encode([[0], [4]]), /outputPositions\[1\]\[0\] = 4 is outside the 4 input positions/);
    assert.throws(() => encode([[-1], [0]]), /outputPositions\[0\]\[0\] = -1/);
    const hostAttentionMask = Int32Array.of(1, 1, 1, 1, 1, 1, 0, 0);
    assert.throws(() => model.encode({ inputsEmbeds: e, skipPadding: true }), /skipPadding needs hostAttentionMask/);
    assert.throws(
      () => model.encode({ inputsEmbeds: e, skipPadding: true, hostAttentionMask: hostAttentionMask.subarray(1) }),
      /hostAttentionMask has 7 entries, the inputs have B·T = 2·4 = 8/,
    );
    assert.throws(
      () => model.encode({ inputsEmbeds: e, skipPadding: true, hostAttentionMask, outputPositions: [[0], [3]] }),
      /outputPositions\[1\]\[0\] = 3 is a padding row/,
    );
  });
});

test.run();
