/**
 * Gradients of every prompt module's trainable parameters, through a tiny random BERT encoder (L=1,
 * d=8, H=2, V=20, f64): central finite differences along random directions and the adjoint identity
 * (checkVjp). Dynamic prompting is checked on the soft Gumbel relaxation with fixed keys; the hard
 * straight-through backward is checked separately to equal the soft sample's VJP at the hard point.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  cpuBackend,
  crossEntropy,
  mul,
  prngKey,
  scope,
  sin,
  sum,
  tensor,
  valueAndGrad,
  vjp,
  type ParamTree,
  type Tensor,
} from '../../core/index.ts';
import {
  applyDynamicPrompt,
  initDynamicPrompt,
  type DynamicPromptConfig,
  type DynamicPromptParams,
} from '../../prompting/dynamic.ts';
import { gumbelSoftmax } from '../../prompting/gumbel.ts';
import { classifierLogits, initClassifier, type ClassifierParams } from '../../prompting/heads.ts';
import { infoPromptRows, unpromptedCls } from '../../prompting/infoprompt.ts';
import {
  infoPromptForward,
  initInfoPrompt,
  type InfoPromptConfig,
  type InfoPromptModelParams,
} from '../../prompting/infoprompt-model.ts';
import { applyPrefix, initPrefix, type PrefixParams } from '../../prompting/prefix.ts';
import { applySoftPrompt, initSoftPrompt, type SoftPromptParams } from '../../prompting/soft-prompt.ts';
import { expectClose } from '../support/close.ts';
import { checkVjp as checkTree, type CheckVjpOptions } from '../support/gradcheck.ts';
import { randomTinyModel, syntheticBatch } from './support.ts';

const RUNS = { numRuns: 6 } as const;
/** checkVjp over interface-typed parameter trees (interfaces lack ParamTree's index signature). */
const checkVjp = <P extends object>(f: (p: P) => Tensor, p: P, opts: CheckVjpOptions): void =>
  checkTree(f as unknown as (x: ParamTree) => Tensor, p as unknown as ParamTree, opts);
const bk = cpuBackend();
const seedArb = fc.integer({ min: 1, max: 1_000_000 });
const rowsArb = fc.array(fc.array(fc.integer({ min: 4, max: 19 }), { minLength: 1, maxLength: 5 }), {
  minLength: 2,
  maxLength: 3,
});

const setup = (seed: number, rows: number[][]) => {
  const model = randomTinyModel(bk, seed);
  const batch = syntheticBatch(bk, rows, 7);
  const labels = tensor(
    bk,
    Int32Array.from(rows, (_, i) => i % 2),
    { shape: [rows.length], dtype: 'i32' },
  );
  return { model, batch, labels };
};

test('soft prompt (both placements) + head: VJP matches finite differences', () => {
  fc.assert(
    fc.property(seedArb, rowsArb, fc.constantFrom('before-cls', 'after-cls' as const), (seed, rows, placement) =>
      scope(bk, () => {
        const { model, batch } = setup(seed, rows);
        const cfg = { numVirtualTokens: 3, placement, init: { kind: 'random', std: 0.5 } } as const;
        type P = { prompt: SoftPromptParams; head: ClassifierParams };
        const p: P = {
          prompt: initSoftPrompt(model, cfg, prngKey(seed + 1)),
          head: initClassifier(model, 2, prngKey(seed + 2)),
        };
        checkVjp(
          (q: P) =>
            classifierLogits(model, model.encode(applySoftPrompt(model, q.prompt, batch, cfg)).lastHiddenState, q.head),
          p,
          { label: 'soft' },
        );
        return true;
      }),
    ),
    RUNS,
  );
});

test('prefix (with and without projection): VJP matches finite differences', () => {
  fc.assert(
    fc.property(seedArb, rowsArb, fc.boolean(), (seed, rows, proj) =>
      scope(bk, () => {
        const { model, batch } = setup(seed, rows);
        const params = initPrefix(
          model,
          { numVirtualTokens: 2, ...(proj ? { projectionHiddenSize: 5 } : {}) },
          prngKey(seed + 3),
        );
        checkVjp((q: PrefixParams) => model.encode(applyPrefix(model, q, batch)).lastHiddenState, params, {
          label: `prefix/${proj}`,
        });
        return true;
      }),
    ),
    RUNS,
  );
});

const dynCfgs: DynamicPromptConfig[] = [
  { numVirtualTokens: 3, position: 'task' },
  { numVirtualTokens: 3, position: 'instance', length: 'task', pool: { k: 2 }, init: { kind: 'random', std: 0.5 } },
  { numVirtualTokens: 2, position: 'task', length: 'instance', instanceRelu: true },
];
for (const cfg of dynCfgs) {
  test(`dynamic ${JSON.stringify(cfg)}: soft Gumbel path, fixed key — VJP matches finite differences`, () => {
    fc.assert(
      fc.property(seedArb, rowsArb, (seed, rows) =>
        scope(bk, () => {
          const { model, batch, labels } = setup(seed, rows);
          const params = initDynamicPrompt(model, cfg, prngKey(seed + 4));
          const sample = { key: prngKey(seed + 5), tau: 0.7, hard: false } as const;
          const head = initClassifier(model, 2, prngKey(seed + 9));
          checkVjp(
            (q: DynamicPromptParams) => {
              const out = applyDynamicPrompt(model, q, batch, cfg, { sample });
              const h = model.encode(out.inputs).lastHiddenState;
              return crossEntropy(classifierLogits(model, h, head), labels);
            },
            params,
            { label: 'dynamic' },
          );
          return true;
        }),
      ),
      RUNS,
    );
  });
}

test('straight-through: the hard sample is one-hot and its backward equals the soft VJP at the hard point', () => {
  fc.assert(
    fc.property(seedArb, fc.integer({ min: 2, max: 6 }), fc.double({ min: 0.3, max: 2, noNaN: true }), (seed, C, tau) =>
      scope(bk, () => {
        const z = tensor(
          bk,
          Float64Array.from({ length: 3 * C }, (_, i) => Math.sin(seed * 0.37 + i)),
          { shape: [3, C], dtype: 'f64' },
        );
        const key = prngKey(seed);
        const down = (y: Tensor) =>
          sum(
            mul(
              sin(mul(y, 1.3)),
              tensor(
                bk,
                Float64Array.from({ length: 3 * C }, (_, i) => 1 + i),
                { shape: [3, C], dtype: 'f64' },
              ),
            ),
          );
        const hard = gumbelSoftmax(z, key, tau, { hard: true });
        const hv = hard.dataSync();
        for (let r = 0; r < 3; r++)
          assert.is(Array.from(hv.slice(r * C, r * C + C)).filter((v) => v === 1).length, 1, 'one-hot row');
        const [, gST] = valueAndGrad((x: Tensor) => down(gumbelSoftmax(x, key, tau, { hard: true })))(z);
        const [, gy] = valueAndGrad(down)(hard);
        const [, pull] = vjp((x: Tensor) => gumbelSoftmax(x, key, tau, { hard: false }), z);
        expectClose(gST, pull(gy), { atol: 1e-12, rtol: 1e-10 }, 'ST grad vs soft VJP');
        return true;
      }),
    ),
    RUNS,
  );
});

test('dynamic hard path: the forward is exactly one layout candidate; the ST gradient is finite', () => {
  fc.assert(
    fc.property(seedArb, rowsArb, (seed, rows) =>
      scope(bk, () => {
        const { model, batch, labels } = setup(seed, rows);
        const cfg: DynamicPromptConfig = { numVirtualTokens: 3, position: 'task', length: 'task' };
        const params = initDynamicPrompt(model, cfg, prngKey(seed));
        const out = applyDynamicPrompt(model, params, batch, cfg, { sample: { key: prngKey(seed + 1), tau: 1 } });
        const w = out.weights.position!.dataSync();
        for (const v of w) assert.ok(v === 0 || v === 1);
        // The length choice acts through multiplicative key weights: keys attended = mask · weight.
        const mask = out.inputs.attentionMask!.dataSync(),
          kw = out.inputs.keyWeights!.dataSync(),
          lw = out.weights.length!.dataSync();
        rows.forEach((r, b) => {
          const len = Array.from(lw.slice(b * 3, b * 3 + 3)).indexOf(1) + 1;
          let attended = 0;
          for (let s = b * 10; s < b * 10 + 10; s++) {
            assert.ok(kw[s] === 0 || kw[s] === 1);
            attended += mask[s]! * kw[s]!;
          }
          assert.is(attended, r.length + 2 + len, 'keys attended = n + chosen length');
        });
        const head = initClassifier(model, 2, prngKey(seed + 2));
        const [, g] = valueAndGrad((q: DynamicPromptParams) =>
          crossEntropy(
            classifierLogits(
              model,
              model.encode(
                applyDynamicPrompt(model, q, batch, cfg, { sample: { key: prngKey(seed + 1), tau: 1 } }).inputs,
              ).lastHiddenState,
              head,
            ),
            labels,
          ),
        )(params);
        for (const t of [g.prompt, (g.position as { logits: Tensor }).logits, (g.length as { logits: Tensor }).logits])
          for (const v of t.dataSync()) assert.ok(Number.isFinite(v));
        return true;
      }),
    ),
    RUNS,
  );
});

test('InfoPrompt (plain and generator; bottleneck means): VJP of the total loss matches finite differences', () => {
  fc.assert(
    fc.property(seedArb, rowsArb, fc.boolean(), (seed, rows, generator) =>
      scope(bk, () => {
        const { model, batch, labels } = setup(seed, rows);
        const cfg: InfoPromptConfig = {
          numVirtualTokens: 2,
          numLabels: 2,
          bottleneckDim: 4,
          negativesPerExample: 2,
          init: { kind: 'random', std: 0.5 },
          ...(generator ? { generator: { hidden: 3 } } : {}),
        };
        const params = initInfoPrompt(model, cfg, prngKey(seed + 6));
        // L_rep detaches its anchor prompt, which finite differences would see: pin it to a constant copy.
        const repAnchor = tensor(bk, infoPromptRows(params.prompt, cfg, () => unpromptedCls(model, batch)).dataSync(), {
          shape: infoPromptRows(params.prompt, cfg, () => unpromptedCls(model, batch)).shape,
          dtype: 'f64',
        });
        checkVjp(
          (q: InfoPromptModelParams) =>
            infoPromptForward(model, q, cfg, { batch, labels, key: prngKey(seed), sample: false, repAnchor }).loss,
          params,
          { label: `infoprompt/${generator}` },
        );
        return true;
      }),
    ),
    RUNS,
  );
});

test.run();
