/**
 * The quick demo: writes losses as plain TypeScript functions, differentiates them with
 * `valueAndGrad`, and checks every gradient against central finite differences in float64 —
 * a user-written MLP loss, and soft-prompt and prefix gradients through a random 2-layer BERT.
 * Run: npm run demo
 */
import {
  cpuBackend,
  crossEntropy,
  linear,
  prngKey,
  randomNormal,
  scope,
  splitKey,
  tanh,
  tensor,
  valueAndGrad,
  type Backend,
  type Tensor,
} from 'promptgrad';
import { models, prompting } from 'promptgrad';

const { BertModel, bertConfigFor, randomWeightSource } = models;
const { applyPrefix, applySoftPrompt, classifierLogits, initClassifier, initPrefix, initSoftPrompt, tokenBatch } =
  prompting;

/**
 * Largest gap between ∂f/∂x (autodiff) and central differences over `probes` entries, relative to
 * the gradient's largest entry (prompt gradients through a random encoder are small: ~1e-5).
 */
function checkAgainstFiniteDifferences(
  bk: Backend,
  f: (x: Tensor) => Tensor,
  x: Tensor,
  probes: number,
  seed: number,
): number {
  const [, g] = valueAndGrad(f)(x);
  const grad = g.dataSync();
  const base = x.dataSync();
  let worst = 0;
  const scale = Math.max(1e-12, ...Array.from(grad, Math.abs));
  for (let p = 0; p < probes; p++) {
    const i = (seed * 7919 + p * 104729) % base.length;
    const eps = 1e-5 * Math.max(1, Math.abs(base[i]!));
    const at = (delta: number) =>
      scope(bk, () => {
        const v = base.slice();
        v[i]! += delta;
        return f(tensor(bk, v, { shape: x.shape, dtype: 'f64' })).itemSync();
      });
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    worst = Math.max(worst, Math.abs(fd - grad[i]!) / scale);
  }
  return worst;
}

const bk = cpuBackend();
const [k1, k2, k3, k4, k5] = splitKey(prngKey(2026), 5);
const lines: string[] = [];
let ok = true;
const report = (what: string, err: number, tol = 1e-5) => {
  const pass = err <= tol;
  ok &&= pass;
  lines.push(
    `${pass ? 'verified' : 'FAILED  '}: ${what} — max relative gap to finite differences ${err.toExponential(1)} (tolerance ${tol})`,
  );
};

// 1. A user-written loss: two-layer tanh MLP with softmax cross-entropy.
const X = randomNormal(bk, k1!, [6, 4], 0, 1, { dtype: 'f64' });
const labels = tensor(bk, [0, 2, 1, 1, 0, 2], { dtype: 'i32' });
const W2 = randomNormal(bk, k2!, [3, 5], 0, 0.5, { dtype: 'f64' });
const mlpLoss = (W1: Tensor) => crossEntropy(linear(tanh(linear(X, W1)), W2), labels);
report(
  '∂ cross-entropy(MLP) / ∂W1 (user-written loss)',
  checkAgainstFiniteDifferences(bk, mlpLoss, randomNormal(bk, k3!, [5, 4], 0, 0.5, { dtype: 'f64' }), 20, 1),
);

// 2. Soft prompt and prefix through a frozen random 2-layer BERT (float64).
const cfg = {
  ...bertConfigFor({
    vocabSize: 50,
    hiddenSize: 16,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    intermediateSize: 32,
    maxPositionEmbeddings: 32,
  }),
  hiddenDropoutProb: 0,
  attentionProbsDropoutProb: 0,
};
const model = BertModel.load(randomWeightSource(cfg, k4!), cfg, bk, 'f64');
const ids = Int32Array.from([2, 11, 12, 13, 3, 0, 2, 21, 22, 23, 24, 3]);
const batch = tokenBatch(
  bk,
  2,
  6,
  ids,
  Int32Array.from(ids, (v) => (v === 0 ? 0 : 1)),
);
const head = initClassifier(model, 2, k5!);
const y = tensor(bk, [0, 1], { dtype: 'i32' });
const soft = initSoftPrompt(model, { numVirtualTokens: 4 }, k1!);
const softLoss = (P: Tensor) =>
  crossEntropy(
    classifierLogits(
      model,
      model.encode(applySoftPrompt(model, { promptEmbeddings: P }, batch, { numVirtualTokens: 4 })).lastHiddenState,
      head,
    ),
    y,
  );
report(
  '∂ loss / ∂ soft prompt [4, 16] through a frozen 2-layer BERT',
  checkAgainstFiniteDifferences(bk, softLoss, soft.promptEmbeddings, 24, 2),
);
const prefix = initPrefix(model, { numVirtualTokens: 3 }, k2!);
const prefixLoss = (T: Tensor) =>
  crossEntropy(
    classifierLogits(model, model.encode(applyPrefix(model, { embedding: T }, batch)).lastHiddenState, head),
    y,
  );
report(
  '∂ loss / ∂ prefix table [3, 2·L·d] (P-tuning v2) through the same encoder',
  checkAgainstFiniteDifferences(bk, prefixLoss, prefix.embedding, 24, 3),
);

// 3. Frozen weights cost nothing: the tape holds only prompt-dependent work.
const live = bk.live();
scope(bk, () => {
  valueAndGrad(softLoss)(soft.promptEmbeddings);
});
lines.push(`checked : after a scoped training step, live buffers ${bk.live()} = ${live} before it (no leaks)`);
ok &&= bk.live() === live;

console.log(lines.join('\n'));
console.log(ok ? '\nAll gradient checks passed.' : '\nSome gradient checks FAILED.');

process.exit(ok ? 0 : 1);
