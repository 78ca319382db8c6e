import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { crossEntropy as coreCrossEntropy, tensor, valueAndGrad } from '../../core/index.ts';
import type { Tensor } from '../../core/index.ts';
import { cappedCrossEntropy, crossEntropy } from '../../losses/index.ts';
import { bk, close, gradcheck, host, i32, item, randn } from './support.ts';

const cases = fc.record({
  b: fc.integer({ min: 1, max: 6 }),
  c: fc.integer({ min: 2, max: 5 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});
const labelsFor = (b: number, c: number, seed: number): Tensor =>
  i32(Array.from({ length: b }, (_, i) => (i * 3 + seed) % c));

test("crossEntropy is core's", () => {
  assert.is(crossEntropy, coreCrossEntropy);
});

test('cappedCrossEntropy: per example min(ℓ_i, cap); capped examples get exactly zero gradient', () => {
  fc.assert(
    fc.property(cases, fc.double({ min: 0.2, max: 3, noNaN: true }), ({ b, c, seed }, cap) => {
      const logits = randn(seed, [b, c], 3),
        labels = labelsFor(b, c, seed);
      const per = host(coreCrossEntropy(logits, labels, { reduction: 'none' }));
      const capped = host(cappedCrossEntropy(logits, labels, cap, { reduction: 'none' }));
      per.forEach((l, i) => assert.ok(close(capped[i]!, Math.min(l, cap), 1e-14)));
      const [v, g] = valueAndGrad((x: Tensor) => cappedCrossEntropy(x, labels, cap))(logits);
      assert.ok(close(item(v), per.reduce((s, l) => s + Math.min(l, cap), 0) / b, 1e-14));
      const gh = host(g);
      const [, gFull] = valueAndGrad((x: Tensor) => coreCrossEntropy(x, labels))(logits);
      const gf = host(gFull);
      for (let i = 0; i < b; i++) {
        for (let j = 0; j < c; j++) {
          const k = i * c + j;
          if (per[i]! > cap) assert.is(gh[k], 0, `example ${i} is capped`);
          else assert.ok(close(gh[k]!, gf[k]!, 1e-14), `example ${i} keeps the plain gradient`);
        }
      }
    }),
    { numRuns: 40 },
  );
});

test('cappedCrossEntropy: gradient equals central differences away from the cap; sum/none; ignoreIndex', () => {
  fc.assert(
    fc.property(cases, ({ b, c, seed }) => {
      const logits = randn(seed, [b, c], 2),
        labels = labelsFor(b, c, seed);
      const per = host(coreCrossEntropy(logits, labels, { reduction: 'none' }));
      const cap = per.map((l) => l).sort((x, y) => x - y)[Math.floor(b / 2)]! + 1e-3; // about half capped, none at the kink
      gradcheck((x: Tensor) => cappedCrossEntropy(x, labels, cap), logits);
      gradcheck((x: Tensor) => cappedCrossEntropy(x, labels, cap, { reduction: 'sum', labelSmoothing: 0.1 }), logits);
    }),
    { numRuns: 20 },
  );
  const logits = randn(3, [3, 4]);
  const withIgnored = cappedCrossEntropy(logits, i32([1, -100, 2]), 100);
  assert.ok(close(item(withIgnored), item(coreCrossEntropy(logits, i32([1, -100, 2]))), 1e-14));
  assert.throws(() => cappedCrossEntropy(logits, i32([0, 0, 0]), -1), /cap/);
});

test('cappedCrossEntropy f32: logits of ±1e4 stay finite', () => {
  const logits = tensor(
    bk,
    [
      [1e4, -1e4],
      [-1e4, 1e4],
    ],
    { dtype: 'f32' },
  );
  const [v, g] = valueAndGrad((x: Tensor) => cappedCrossEntropy(x, i32([1, 1]), 2))(logits);
  assert.is(item(v), 1); // (2 + 0) / 2
  assert.ok(host(g).every(Number.isFinite));
});

test.run();
