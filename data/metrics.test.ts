import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { accuracy, argmaxRows, exactMatch, f1a, f1ForClass, macroF1, mainScore, metricsFor } from './metrics.ts';
import { TASKS } from './tasks/types.ts';

const close = (a: number, b: number, msg?: string): void =>
  assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ''} ${a} vs ${b}`);

test('accuracy', () => {
  assert.is(accuracy([0, 1, 1, 0], [0, 1, 0, 0]), 0.75);
  assert.is(accuracy([2], [2]), 1);
  assert.throws(() => accuracy([0, 1], [0]), /2 predictions vs 1 labels/);
  assert.throws(() => accuracy([], []), /no examples/);
});

test('macro-F1 by hand', () => {
  // class 0: tp 2, fp 1, fn 0 -> 4/5; class 1: tp 1, fp 0, fn 2 -> 2/4; class 2 (predicted only): 0.
  const preds = [0, 0, 0, 1, 2];
  const labels = [0, 0, 1, 1, 1];
  close(f1ForClass(preds, labels, 0), 0.8);
  close(f1ForClass(preds, labels, 1), 0.5);
  close(f1ForClass(preds, labels, 2), 0);
  close(macroF1(preds, labels), (0.8 + 0.5 + 0) / 3);
  // A class in neither labels nor predictions is left out (sklearn without `labels`): CB with no neutral.
  assert.is(macroF1([0, 1, 1], [0, 1, 1]), 1);
  // Always predicting the majority class: accuracy looks fine, macro-F1 does not.
  const gold = [0, 0, 0, 0, 0, 0, 0, 0, 1, 2];
  assert.is(
    accuracy(
      gold.map(() => 0),
      gold,
    ),
    0.8,
  );
  close(
    macroF1(
      gold.map(() => 0),
      gold,
    ),
    16 / 18 / 3,
  );
});

test('MultiRC F1a and exact match by hand', () => {
  // tp 2 (0, 4), fp 1 (1), fn 1 (2): F1 = 4 / 6.
  close(f1a([1, 1, 0, 0, 1], [1, 0, 1, 0, 1]), 2 / 3);
  assert.is(f1a([0, 0], [0, 0]), 0);
  // Groups 7 and 9 fully right, group 8 misses one of its two options.
  close(exactMatch([1, 0, 0, 0, 1], [1, 0, 1, 0, 1], [7, 7, 8, 8, 9]), 2 / 3);
  assert.is(exactMatch([1, 1], [1, 1], ['q', 'q']), 1);
  assert.throws(() => exactMatch([1], [1], []), /groups/);
});

test('metricsFor: names, main metric and compute per task', () => {
  for (const task of TASKS) {
    const m = metricsFor(task);
    assert.ok(m.names.includes(m.main), task);
  }
  assert.equal(metricsFor('CB').names, ['accuracy', 'macroF1']);
  assert.is(metricsFor('CB').main, 'macroF1');
  assert.equal(metricsFor('MultiRC').names, ['f1a', 'exactMatch']);
  assert.is(metricsFor('MultiRC').main, 'f1a');
  assert.is(metricsFor('RTE').main, 'accuracy');
  const cb = metricsFor('CB').compute({ preds: [0, 0, 0, 1, 2], labels: [0, 0, 1, 1, 1] });
  assert.is(cb.accuracy, 0.6);
  close(mainScore('CB', cb), 1.3 / 3);
  const mrc = metricsFor('MultiRC').compute({
    preds: [1, 0, 0, 0, 1],
    labels: [1, 0, 1, 0, 1],
    groups: [7, 7, 8, 8, 9],
  });
  close(mrc.f1a!, 0.8); // tp 2, fp 0, fn 1 -> 4/5
  close(mrc.exactMatch!, 2 / 3);
  assert.throws(() => metricsFor('MultiRC').compute({ preds: [1], labels: [1] }), /groups/);
  assert.throws(() => mainScore('CB', { accuracy: 1 }), /macroF1/);
});

test('argmaxRows takes the first maximum', () => {
  assert.equal(
    argmaxRows([
      [0.1, 0.9],
      [2, 1],
      [1, 3, 3],
    ]),
    [1, 0, 1],
  );
});

test('properties: scores lie in [0, 1] and perfect predictions score 1', () => {
  const pair = fc
    .integer({ min: 1, max: 40 })
    .chain((n) =>
      fc.tuple(
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
      ),
    );
  fc.assert(
    fc.property(pair, ([p, l]) => {
      for (const v of [accuracy(p, l), macroF1(p, l), f1ForClass(p, l, 1)]) if (!(v >= 0 && v <= 1)) return false;
      return (
        accuracy(l, l) === 1 &&
        macroF1(l, l) === 1 &&
        exactMatch(
          l,
          l,
          l.map((_, i) => i % 3),
        ) === 1
      );
    }),
  );
});

test.run();
