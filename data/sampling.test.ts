import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { batches, deriveSeed, epochBatches, lengthBuckets, mulberry32, sampleFewShot, shuffle } from './sampling.ts';
import { formatDataError, loadTask } from './fewglue.ts';
import type { CBExample } from './fewglue.ts';

const range = (n: number): readonly number[] => Array.from({ length: n }, (_, i) => i);
const sorted = (xs: readonly number[]): readonly number[] => [...xs].sort((a, b) => a - b);
const countBy = <A>(xs: readonly A[], key: (a: A) => number): Map<number, number> => {
  const m = new Map<number, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
};

test('mulberry32: deterministic, in [0, 1), seed-sensitive', () => {
  const a = mulberry32(42),
    b = mulberry32(42),
    c = mulberry32(43);
  const xs = range(1000).map(() => a());
  assert.equal(
    range(1000).map(() => b()),
    xs,
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.not.equal(
    range(10).map(() => c()),
    xs.slice(0, 10),
  );
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  assert.throws(() => mulberry32(1.5), /integer/);
  assert.throws(() => mulberry32(Number.NaN), /integer/);
});

test('deriveSeed separates purposes and epochs', () => {
  const seeds = new Set(range(100).map((e) => deriveSeed(7, e)));
  assert.is(seeds.size, 100);
  assert.is(deriveSeed(7, 3), deriveSeed(7, 3));
  assert.is.not(deriveSeed(7, 3), deriveSeed(8, 3));
  assert.is.not(deriveSeed(7, 1, 2), deriveSeed(7, 2, 1));
});

test('shuffle: a deterministic permutation that leaves its input alone', () => {
  fc.assert(
    fc.property(fc.array(fc.integer()), fc.integer(), (xs, seed) => {
      const copy = [...xs];
      const s = shuffle(xs, seed);
      return (
        JSON.stringify(xs) === JSON.stringify(copy) &&
        JSON.stringify(sorted(s)) === JSON.stringify(sorted(xs)) &&
        JSON.stringify(shuffle(xs, seed)) === JSON.stringify(s)
      );
    }),
  );
  assert.not.equal(shuffle(range(20), 1), shuffle(range(20), 2));
  assert.not.equal(shuffle(range(20), 1), range(20));
});

test('sampleFewShot: deterministic, without replacement, size checked', () => {
  const xs = range(100);
  const s = sampleFewShot(xs, 32, 123);
  assert.equal(sampleFewShot(xs, 32, 123), s);
  assert.is(new Set(s).size, 32);
  assert.not.equal(sampleFewShot(xs, 32, 124), s);
  assert.is(sampleFewShot(xs, 0, 1).length, 0);
  assert.equal(sorted(sampleFewShot(xs, 100, 1)), xs);
  assert.throws(() => sampleFewShot(xs, 101, 1), RangeError);
  assert.throws(() => sampleFewShot(xs, 2.5, 1), RangeError);
});

test('stratified sampling on CB val (23 entailment, 28 contradiction, 5 neutral)', async () => {
  const r = await loadTask(new URL('../datasets/fewglue/', import.meta.url), 'CB', 'val')();
  if (r._tag === 'Left') throw new Error(formatDataError(r.left));
  const xs = r.right.examples;
  const label = (e: CBExample): number => e.label;
  for (const seed of [0, 1, 2, 99]) {
    // Proportional, n = 16: shares 6.57 / 8 / 1.43 -> floors 6/8/1, the spare one to the largest remainder.
    const p = countBy(sampleFewShot(xs, 16, seed, { stratifyBy: label }), label);
    assert.equal([p.get(0), p.get(1), p.get(2)], [7, 8, 1], `seed ${seed}`);
    const b = countBy(sampleFewShot(xs, 15, seed, { stratifyBy: label, mode: 'balanced' }), label);
    assert.equal([b.get(0), b.get(1), b.get(2)], [5, 5, 5]);
    // Balanced beyond the 5 neutrals: the rest is split as evenly as the other classes allow.
    const b20 = countBy(sampleFewShot(xs, 20, seed, { stratifyBy: label, mode: 'balanced' }), label);
    assert.is(b20.get(2), 5);
    assert.ok(Math.abs((b20.get(0) ?? 0) - (b20.get(1) ?? 0)) === 1);
  }
  const s = sampleFewShot(xs, 16, 5, { stratifyBy: label });
  assert.equal(sampleFewShot(xs, 16, 5, { stratifyBy: label }), s);
  assert.is(new Set(s).size, 16);
});

test('property: proportional strata get floor or ceil of their share', () => {
  const input = fc.tuple(
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 60 }),
    fc.integer(),
    fc.nat(),
  );
  fc.assert(
    fc.property(input, ([labels, seed, k]) => {
      const n = k % (labels.length + 1);
      const xs = labels.map((l, i) => ({ l, i }));
      const s = sampleFewShot(xs, n, seed, { stratifyBy: (x) => x.l });
      if (s.length !== n || new Set(s.map((x) => x.i)).size !== n) return false;
      const total = countBy(xs, (x) => x.l);
      const got = countBy(s, (x) => x.l);
      return [...total].every(([l, c]) => {
        const share = (n * c) / labels.length;
        const g = got.get(l) ?? 0;
        return g >= Math.floor(share) && g <= Math.ceil(share);
      });
    }),
  );
});

test('batches: fixed size in order, optional drop of the short tail', () => {
  assert.equal(batches(range(7), 3), [[0, 1, 2], [3, 4, 5], [6]]);
  assert.equal(batches(range(7), 3, { dropLast: true }), [
    [0, 1, 2],
    [3, 4, 5],
  ]);
  assert.equal(batches([], 4), []);
  assert.throws(() => batches(range(3), 0), RangeError);
  const e0 = epochBatches(range(32), 8, 1, 0);
  assert.equal(epochBatches(range(32), 8, 1, 0), e0);
  assert.not.equal(epochBatches(range(32), 8, 1, 1), e0);
  assert.equal(sorted(e0.flat()), range(32));
  assert.ok(e0.every((b) => b.length === 8));
});

test('lengthBuckets: each item once, similar lengths per batch, seeded batch order', () => {
  const words = range(200).map((i) => 'x'.repeat(1 + ((i * 37) % 97)));
  const len = (s: string): number => s.length;
  const bs = lengthBuckets(words, len, { batchSize: 16, seed: 3 });
  assert.equal(lengthBuckets(words, len, { batchSize: 16, seed: 3 }), bs);
  assert.equal([...bs.flat()].sort(), [...words].sort());
  assert.is(bs.length, 13);
  // Sorted by length before cutting, so batch length ranges do not overlap.
  const spans = bs.map((b) => [Math.min(...b.map(len)), Math.max(...b.map(len))] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1]);
  // The batch order is shuffled, not ascending.
  const mins = bs.map((b) => Math.min(...b.map(len)));
  assert.not.equal(mins, sorted(mins));
  assert.not.equal(lengthBuckets(words, len, { batchSize: 16, seed: 4 }), bs);
  // Equal lengths within a bucket keep a seeded order rather than input order.
  const same = range(10);
  const one = lengthBuckets(same, () => 5, { batchSize: 10, seed: 1 });
  assert.is(one.length, 1);
  assert.not.equal(one[0], same);
  const wide = lengthBuckets(words, len, { batchSize: 200, seed: 1, bucketWidth: 50 })[0]!;
  assert.ok(wide.slice(0, 50).every((w) => w.length < 50));
});

test.run();
