/**
 * The last layer's folded attention (attention-folded.ts) against the plain path it replaces
 * (FOLDED_ATTENTION.enabled = false): f64 values and gradients to 1e-12 on both fixture models, packed
 * and unpacked, with and without keyWeights; int8 weights within the quantization's own noise; and no
 * fold (bit-identical results) where it does not apply: prefixes, many rows. Under attention-probability
 * dropout the fold draws the plain path's mask (same key, same element order), so it matches it too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  cpuBackend,
  mul,
  prngKey,
  randomNormal,
  randomUniform,
  scope,
  splitKey,
  sum,
  tensor,
  valueAndGrad,
  type Backend,
  type FloatDType,
  type Tensor,
} from '../../core/index.ts';
import { createWasmBackend } from '../../core/backend/wasm/index.ts';
import { FOLDED_ATTENTION } from './attention-folded.ts';
import type { BertModel, EncoderInputs } from './model.ts';
import { fixtureConfig, fixtureModel, type FixtureName } from './testing/hf-fixture.ts';
import { expectWithin } from './testing/within.ts';

const B = 3,
  T = 12;
const LENGTHS = [12, 9, 5];
const HOST_MASK = Int32Array.from({ length: B * T }, (_, i) => Number(i % T < LENGTHS[Math.floor(i / T)]!));

interface Case {
  readonly skipPadding?: boolean;
  readonly keyWeights?: boolean;
  readonly prefix?: boolean;
  readonly dropout?: boolean;
  /** Output positions per example (default: the first row, as the pooled head reads). */
  readonly positions?: readonly (readonly number[])[];
}

/** loss and d loss / d inputs_embeds (and / d keyWeights) of the rows read, with the fold on or off. */
function run(bk: Backend, model: BertModel, name: FixtureName, dtype: FloatDType, c: Case, fold: boolean) {
  const cfg = fixtureConfig(name);
  const d = cfg.hiddenSize,
    H = cfg.numAttentionHeads,
    m = 2;
  const positions = c.positions ?? [[0], [0], [0]];
  FOLDED_ATTENTION.enabled = fold;
  try {
    return scope(bk, () => {
      const [ke, kw, kk, kp] = splitKey(prngKey(11), 4);
      const mask = tensor(bk, HOST_MASK, { shape: [B, T], dtype: 'i32' });
      const positionIds = tensor(
        bk,
        Int32Array.from({ length: B * T }, (_, i) => (i % T) + 2),
        { shape: [B, T], dtype: 'i32' },
      );
      const params: { e: Tensor; kw?: Tensor } = {
        e: randomNormal(bk, ke!, [B, T, d], 0, 1, { dtype }),
        ...(c.keyWeights ? { kw: randomUniform(bk, kk!, [B, T], 0.2, 1, { dtype }) } : {}),
      };
      const prefix = c.prefix
        ? Array.from({ length: cfg.numHiddenLayers }, () => ({
            key: randomNormal(bk, kp!, [B, H, m, d / H], 0, 1, { dtype }),
            value: randomNormal(bk, kp!, [B, H, m, d / H], 0, 1, { dtype }),
          }))
        : undefined;
      const weights = randomNormal(bk, kw!, [B, positions[0]!.length, d], 0, 1, { dtype });
      const loss = (p: typeof params) => {
        const inputs: EncoderInputs = {
          inputsEmbeds: p.e,
          attentionMask: mask,
          positionIds,
          outputPositions: positions,
          ...(p.kw ? { keyWeights: p.kw } : {}),
          ...(prefix ? { prefix } : {}),
          ...(c.skipPadding ? { skipPadding: true, hostAttentionMask: HOST_MASK } : {}),
          ...(c.dropout ? { dropoutKey: prngKey(3) } : {}),
        };
        return sum(mul(model.encode(inputs).lastHiddenState, weights));
      };
      const [v, g] = valueAndGrad(loss)(params);
      return {
        loss: v.dataSync()[0]!,
        e: Float64Array.from(g.e.dataSync()),
        kw: g.kw && Float64Array.from(g.kw.dataSync()),
      };
    });
  } finally {
    FOLDED_ATTENTION.enabled = true;
  }
}

const differs = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => Array.from(a).some((x, i) => x !== b[i]);

for (const name of ['bert-tiny', 'roberta-tiny'] as const) {
  for (const c of [
    {},
    { skipPadding: true },
    { keyWeights: true },
    { skipPadding: true, keyWeights: true },
  ] as Case[]) {
    test(`${name} f64 ${JSON.stringify(c)}: folded last layer = plain path, values and gradients`, () => {
      const bk = cpuBackend();
      const model = fixtureModel(name, bk, 'f64');
      const folded = run(bk, model, name, 'f64', c, true),
        plain = run(bk, model, name, 'f64', c, false);
      expectWithin('loss', [folded.loss], [plain.loss], 1e-12, 1e-12);
      expectWithin('d/d inputs_embeds', folded.e, plain.e, 1e-12, 1e-10);
      if (c.keyWeights) expectWithin('d/d keyWeights', folded.kw!, plain.kw!, 1e-12, 1e-10);
      // the fold really ran: reassociated sums round differently somewhere
      assert.ok(differs(folded.e, plain.e), 'the folded and plain paths gave bit-identical gradients');
      model.dispose();
    });
  }
}

for (const name of ['bert-tiny', 'roberta-tiny'] as const)
  test(`${name} f64 under attention dropout (p = 0.1, hidden dropout too): the same masks, values and gradients`, () => {
    const bk = cpuBackend();
    // the fixtures' dropout rates are 0: give both a rate so the probabilities are dropped out
    const model = fixtureModel(name, bk, 'f64', {
      config: { attentionProbsDropoutProb: 0.1, hiddenDropoutProb: 0.1 },
    });
    for (const c of [{ dropout: true }, { dropout: true, skipPadding: true, keyWeights: true }] as Case[]) {
      const folded = run(bk, model, name, 'f64', c, true),
        plain = run(bk, model, name, 'f64', c, false),
        eval_ = run(bk, model, name, 'f64', { ...c, dropout: false }, false);
      expectWithin(`loss ${JSON.stringify(c)}`, [folded.loss], [plain.loss], 1e-12, 1e-12);
      expectWithin(`d/d inputs_embeds ${JSON.stringify(c)}`, folded.e, plain.e, 1e-12, 1e-10);
      if (c.keyWeights) expectWithin('d/d keyWeights', folded.kw!, plain.kw!, 1e-12, 1e-10);
      assert.ok(differs(folded.e, plain.e), 'the folded and plain paths gave bit-identical gradients');
      assert.ok(
        Math.abs(plain.loss - eval_.loss) > 1e-6,
        'dropout changed nothing: the test would not see a wrong mask',
      );
    }
    model.dispose();
  });

test('no fold where it does not apply: prefixes, R·H ≥ T (bit-identical to the plain path)', () => {
  const bk = cpuBackend();
  const model = fixtureModel('bert-tiny', bk, 'f64'); // 4 heads
  const manyRows = [0, 1, 2].map(() => [0, 1, 2]); // R·H = 12 = T
  for (const c of [{ prefix: true }, { positions: manyRows }] as Case[]) {
    const folded = run(bk, model, 'bert-tiny', 'f64', c, true),
      plain = run(bk, model, 'bert-tiny', 'f64', c, false);
    assert.is(folded.loss, plain.loss, JSON.stringify(c));
    assert.ok(!differs(folded.e, plain.e), JSON.stringify(c));
  }
  model.dispose();
});

test('int8 weights on wasm: folded last layer within the quantization noise of the plain path', () => {
  const bk = createWasmBackend({ threads: 1 });
  const model = fixtureModel('bert-tiny', bk, 'f32', { weightStorage: 'int8' });
  const folded = run(bk, model, 'bert-tiny', 'f32', { skipPadding: true }, true),
    plain = run(bk, model, 'bert-tiny', 'f32', { skipPadding: true }, false);
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
  const cos = dot(folded.e, plain.e) / Math.sqrt(dot(folded.e, folded.e) * dot(plain.e, plain.e));
  console.log(`  int8 fold vs plain: loss ${folded.loss} vs ${plain.loss}, gradient cosine ${cos}`);
  assert.ok(Math.abs(folded.loss - plain.loss) <= 0.02 * Math.abs(plain.loss), `loss ${folded.loss} vs ${plain.loss}`);
  assert.ok(cos > 0.999, `gradient cosine ${cos}`);
  model.dispose();
  bk.dispose();
});

test.run();
