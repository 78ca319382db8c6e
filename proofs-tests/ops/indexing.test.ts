/** gather (backward = scatter-add, so repeated indices accumulate), scatterAdd, moveRows / rowMap and oneHot. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  cpuBackend,
  gather,
  invertRowMap,
  moveRows,
  mul,
  oneHot,
  rowMap,
  scatterAdd,
  scope,
  sum,
  tensor,
  valueAndGrad,
  type Tensor,
} from '../../core/index.ts';
import { forAll, indicesArb, seedArb, shapeArb, toTensor, valuesArb } from '../support/arbitraries.ts';
import { expectClose } from '../support/close.ts';
import { checkVjp } from '../support/gradcheck.ts';

const bk = cpuBackend();
const EXACT = { atol: 0, rtol: 0 };
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** table [R, ...rest], indices [...I] with values in [0, R) — R small so repeats are frequent. */
const gatherArb = fc
  .tuple(fc.integer({ min: 1, max: 4 }), shapeArb({ maxRank: 2, maxSize: 12 }), shapeArb({ maxRank: 2, maxSize: 12 }))
  .chain(([R, rest, I]) => fc.tuple(valuesArb([R, ...rest]), fc.constant(I), indicesArb(I, R), seedArb));

test('vjp: gather (repeated indices accumulate through scatter-add)', () => {
  forAll(bk, gatherArb, ([t, I, ids, seed]) => {
    const idx = tensor(bk, ids, { shape: I, dtype: 'i32' });
    checkVjp(([x]) => gather(x, idx), [toTensor(bk, t)], { seed, label: `gather ${t.shape} at ${ids}` });
  });
});

test('forward: gather copies rows; its gradient counts how often each row was taken', () => {
  forAll(bk, gatherArb, ([t, I, ids]) => {
    const row = size(t.shape.slice(1));
    const idx = tensor(bk, ids, { shape: I, dtype: 'i32' });
    const y = gather(toTensor(bk, t), idx);
    assert.equal([...y.shape], [...I, ...t.shape.slice(1)]);
    expectClose(
      y,
      ids.flatMap((r) => Array.from(t.values.subarray(r * row, (r + 1) * row))),
      EXACT,
      'gather',
    );
    const [, g] = valueAndGrad((p: Tensor) => sum(gather(p, idx)))(toTensor(bk, t));
    const counts = Array.from({ length: t.shape[0]! }, (_, r) => ids.filter((v) => v === r).length);
    expectClose(
      g,
      counts.flatMap((c) => new Array<number>(row).fill(c)),
      EXACT,
      'row counts',
    );
  });
});

test('vjp and forward: scatterAdd (updates into rows, duplicates summed)', () => {
  const arb = fc
    .tuple(fc.integer({ min: 1, max: 4 }), shapeArb({ maxRank: 2, maxSize: 12 }), shapeArb({ maxRank: 2, maxSize: 12 }))
    .chain(([R, rest, I]) =>
      fc.tuple(fc.constant(R), fc.constant(I), indicesArb(I, R), valuesArb([...I, ...rest]), seedArb),
    );
  forAll(bk, arb, ([R, I, ids, u, seed]) => {
    const idx = tensor(bk, ids, { shape: I, dtype: 'i32' });
    const row = size(u.shape.slice(I.length));
    const ref = new Float64Array(R * row);
    ids.forEach((r, i) => {
      for (let j = 0; j < row; j++) ref[r * row + j]! += u.values[i * row + j]!;
    });
    const y = scatterAdd(idx, toTensor(bk, u), R);
    assert.equal([...y.shape], [R, ...u.shape.slice(I.length)]);
    expectClose(y, ref, { atol: 1e-15, rtol: 1e-15 }, 'scatterAdd');
    checkVjp(([x]) => scatterAdd(idx, x, R), [toTensor(bk, u)], { seed, label: 'scatterAdd' });
  });
});

test('embedding-style lookup: a prompt table used at repeated positions gets summed row gradients', () => {
  scope(bk, () => {
    const table = tensor(
      bk,
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      { dtype: 'f64' },
    );
    const idx = tensor(
      bk,
      [
        [0, 2, 0],
        [0, 1, 2],
      ],
      { dtype: 'i32' },
    );
    const w = tensor(
      bk,
      [
        [
          [1, 0],
          [0, 1],
          [1, 1],
        ],
        [
          [2, 2],
          [3, 0],
          [0, 3],
        ],
      ],
      { dtype: 'f64' },
    );
    const [, g] = valueAndGrad((p: Tensor) => sum(mul(gather(p, idx), w)))(table);
    // row 0: (1,0)+(1,1)+(2,2) ; row 1: (3,0) ; row 2: (0,1)+(0,3)
    expectClose(g, [4, 3, 3, 0, 0, 4], EXACT, 'dTable');
    assert.throws(
      () => gather(table, tensor(bk, [3], { dtype: 'i32' })),
      /gather: index 3 at position 0 is out of range for a table of 3 rows/,
    );
    assert.throws(() => gather(table, tensor(bk, [0], { dtype: 'f64' })), /gather: indices must be i32, got f64/);
  });
});

test('oneHot: rows of 0/1, out-of-range → zero row, no gradient path', () => {
  forAll(
    bk,
    fc
      .tuple(shapeArb({ maxRank: 2, maxSize: 12 }), fc.integer({ min: 1, max: 5 }))
      .chain(([I, depth]) => fc.tuple(fc.constant(I), fc.constant(depth), indicesArb(I, depth + 2))),
    ([I, depth, ids]) => {
      const y = oneHot(tensor(bk, ids, { shape: I, dtype: 'i32' }), depth, 'f64');
      assert.equal([...y.shape], [...I, depth]);
      expectClose(
        y,
        ids.flatMap((k) => Array.from({ length: depth }, (_, j) => (j === k ? 1 : 0))),
        EXACT,
        'oneHot',
      );
    },
  );
});

/** A one-to-one row map over R source rows: a seeded permutation's prefix, −1 (zero rows) mixed in. */
const rowMapArb = fc
  .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 8 }), shapeArb({ maxRank: 2, maxSize: 6 }), seedArb)
  .map(([R, n, rest, seed]) => {
    const order = Array.from({ length: R }, (_, i) => i).sort((a, b) => ((a * 7 + seed) % 11) - ((b * 7 + seed) % 11));
    const index = Int32Array.from({ length: n }, (_, i) => ((i + seed) % 3 === 0 || i >= R ? -1 : order[i]!));
    return { R, index, rest, seed };
  });

test('moveRows: forward copies rows (zeros at −1); VJP by finite differences; its transpose is the inverse map', () => {
  fc.assert(
    fc.property(rowMapArb, ({ R, index, rest, seed }) =>
      scope(bk, () => {
        const row = size(rest);
        const x = toTensor(bk, {
          shape: [R, ...rest],
          values: Float64Array.from({ length: R * row }, (_, i) => Math.sin(i + seed)),
        });
        const map = rowMap(bk, index, R);
        const y = moveRows(x, map);
        assert.equal([...y.shape], [index.length, ...rest]);
        expectClose(
          y,
          Array.from(index).flatMap((r) =>
            r < 0 ? new Array<number>(row).fill(0) : Array.from(x.dataSync().subarray(r * row, (r + 1) * row)),
          ),
          EXACT,
          'moveRows',
        );
        checkVjp(([t]) => moveRows(t, map), [x], { seed, label: `moveRows ${Array.from(index).join(',')}` });
        // round trip: every source row the map uses comes back, the others are zero
        const back = moveRows(y, invertRowMap(map)).dataSync(),
          used = new Set(index);
        for (let r = 0; r < R; r++)
          for (let j = 0; j < row; j++)
            if (back[r * row + j] !== (used.has(r) ? x.dataSync()[r * row + j] : 0))
              throw new Error(`round trip row ${r}`);
      }),
    ),
    { numRuns: 60, seed: 20260611 },
  );
});

test('rowMap refuses a source row taken twice and indices outside [−1, R), naming them', () => {
  assert.throws(
    () => rowMap(bk, Int32Array.of(0, 2, 0), 3),
    /rowMap: source row 0 is taken twice \(index\[0\] and index\[2\]\)/,
  );
  assert.throws(() => rowMap(bk, Int32Array.of(3), 3), /rowMap: index\[0\] = 3 is outside \[−1, 3\)/);
  assert.throws(() => rowMap(bk, Int32Array.of(-2), 3), /index\[0\] = -2/);
  assert.throws(
    () => moveRows(tensor(bk, [1, 2], { shape: [2], dtype: 'f64' }), rowMap(bk, Int32Array.of(0), 3)),
    /must have 3 rows/,
  );
});

test.run();
