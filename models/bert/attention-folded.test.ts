/**
 * The last layer's folded attention (attention-folded.ts) against the plain path it replaces
 * (FOLDED_ATTENTION.enabled = false): f64 values and gradients to 1e-12 on both fixture models, packed
 * and unpacked, with and without keyWeights; int8 weights within the quantization's own noise; and no
 * fold (bit-identical results) where it does not apply: prefixes, many rows. Under attention-probability
 * dropout the fold draws the plain path's mask (same key, same element order), so it matches it too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuBackend } from '../../core/index.ts';
import { createWasmBackend } from '../../core/backend/wasm/index.ts';
import { fixtureModel } from './testing/hf-fixture.ts';
import { foldRun as run, type FoldCase as Case } from './testing/folded-run.ts';
import { expectWithin } from './testing/within.ts';

const differs = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => Array.from(a).some((x, i) => x !== b[i]);

for (const name of ['bert-tiny', 'roberta-tiny'] as const) {
  for (const c of [
    {},
    { skipPadding: true },
    { keyWeights: true },
    { skipPadding: true, keyWeights: true },
  ] as Case[]) {
    test(`${name} f64 ${JSON.stringify(c)}: folded last layer = plain path, values and gradients`, async () => {
      const bk = cpuBackend();
      const model = fixtureModel(name, bk, 'f64');
      const folded = await run(bk, model, name, 'f64', c, true),
        plain = await run(bk, model, name, 'f64', c, false);
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
  test(`${name} f64 under attention dropout (p = 0.1, hidden dropout too): the same masks, values and gradients`, async () => {
    const bk = cpuBackend();
    // the fixtures' dropout rates are 0: give both a rate so the probabilities are dropped out
    const model = fixtureModel(name, bk, 'f64', {
      config: { attentionProbsDropoutProb: 0.1, hiddenDropoutProb: 0.1 },
    });
    for (const c of [{ dropout: true }, { dropout: true, skipPadding: true, keyWeights: true }] as Case[]) {
      const folded = await run(bk, model, name, 'f64', c, true),
        plain = await run(bk, model, name, 'f64', c, false),
        eval_ = await run(bk, model, name, 'f64', { ...c, dropout: false }, false);
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

test('no fold where it does not apply: prefixes, R·H ≥ T (bit-identical to the plain path)', async () => {
  const bk = cpuBackend();
  const model = fixtureModel('bert-tiny', bk, 'f64'); // 4 heads
  const manyRows = [0, 1, 2].map(() => [0, 1, 2]); // R·H = 12 = T
  for (const c of [{ prefix: true }, { positions: manyRows }] as Case[]) {
    const folded = await run(bk, model, 'bert-tiny', 'f64', c, true),
      plain = await run(bk, model, 'bert-tiny', 'f64', c, false);
    assert.is(folded.loss, plain.loss, JSON.stringify(c));
    assert.ok(!differs(folded.e, plain.e), JSON.stringify(c));
  }
  model.dispose();
});

test('int8 weights on wasm: folded last layer within the quantization noise of the plain path', async () => {
  const bk = createWasmBackend({ threads: 1 });
  const model = fixtureModel('bert-tiny', bk, 'f32', { weightStorage: 'int8' });
  const folded = await run(bk, model, 'bert-tiny', 'f32', { skipPadding: true }, true),
    plain = await run(bk, model, 'bert-tiny', 'f32', { skipPadding: true }, false);
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
  const cos = dot(folded.e, plain.e) / Math.sqrt(dot(folded.e, folded.e) * dot(plain.e, plain.e));
  console.log(`  int8 fold vs plain: loss ${folded.loss} vs ${plain.loss}, gradient cosine ${cos}`);
  assert.ok(Math.abs(folded.loss - plain.loss) <= 0.02 * Math.abs(plain.loss), `loss ${folded.loss} vs ${plain.loss}`);
  assert.ok(cos > 0.999, `gradient cosine ${cos}`);
  model.dispose();
  bk.dispose();
});

test.run();
