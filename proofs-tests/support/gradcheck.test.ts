/** The checkers themselves: checkVjp accepts correct VJPs and rejects wrong ones with a useful message. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { cpuBackend, exp, mul, scope, square, sum, tanh, tensor, type Tensor } from '../../core/index.ts';
import { withVjpRule } from '../../core/autograd/tape.ts';
import { RUNS, tensorArb, toTensor } from './arbitraries.ts';
import { expectClose } from './close.ts';
import { checkVjp } from './gradcheck.ts';

const bk = cpuBackend();

/**
 * checkVjp of x², with square's VJP rule replaced by one whose factor is wrong (factor·x instead of
 * 2·x) at one element only when `at` ≥ 0.
 */
function checkBadSquare(x: Tensor, at: number, factor = 2.001, label?: string): void {
  withVjpRule(
    'square',
    (dy, [xin]) => [
      () => {
        const k = new Float64Array(xin!.size).fill(2);
        if (at >= 0 && at < k.length) k[at] = factor;
        return mul(dy, mul(xin!, tensor(bk, k, { shape: xin!.shape, dtype: 'f64' })));
      },
    ],
    () => checkVjp(([t]) => square(t), [x], label === undefined ? {} : { label }),
  );
}

test('accepts a correct VJP (tanh of a tree)', () => {
  scope(bk, () => {
    const a = tensor(bk, [[0.1, -0.7, 2]], { dtype: 'f64' }),
      b = tensor(bk, [0.3, 0.5, -1.2], { dtype: 'f64' });
    checkVjp((p) => mul(tanh(p.a), p.b), { a, b });
    checkVjp(([u, v]) => sum(mul(u, v)), [a, b]);
  });
});

test('the correct custom primitive passes, a wrong entry is caught per element', () => {
  scope(bk, () => {
    const x = tensor(
      bk,
      [
        [0.5, -1.5, 2.0],
        [0.25, 1, -0.75],
      ],
      { dtype: 'f64' },
    );
    checkBadSquare(x, -1);
    let msg = '';
    try {
      checkBadSquare(x, 4, undefined, 'badSquare');
    } catch (e) {
      msg = (e as Error).message;
    }
    assert.match(msg, 'checkVjp(badSquare)');
    assert.match(msg, '[2, 3]', 'prints the input shape');
    assert.match(msg, '0.5, -1.5, 2', 'prints the input values');
    assert.match(msg, 'finite differences');
  });
});

test('a wrong VJP on a large input is caught by the random direction', () => {
  scope(bk, () => {
    const x = tensor(
      bk,
      Float64Array.from({ length: 100 }, (_, i) => Math.sin(i) + 1.5),
      { shape: [10, 10], dtype: 'f64' },
    );
    // exp's rule replaced by a wrong one (dy·x instead of dy·exp x)
    assert.throws(
      () =>
        withVjpRule(
          'exp',
          (dy, [xin]) => [() => mul(dy, xin!)],
          () => checkVjp(([t]) => exp(t), [x]),
        ),
      /random direction|adjoint/,
    );
  });
});

test('property: a wrong VJP fails for every generated input (fast-check reports it)', () => {
  let failures = 0;
  fc.assert(
    fc.property(tensorArb({ minRank: 1, low: 0.5, high: 2 }), (s) =>
      scope(bk, () => {
        try {
          checkBadSquare(toTensor(bk, s), 0, 3);
        } catch {
          failures++;
        }
      }),
    ),
    RUNS,
  );
  assert.is(failures, RUNS.numRuns);
});

test('expectClose reports count, first indices and max diff', () => {
  expectClose([1, 2, 3], [1, 2, 3 + 1e-9], { atol: 1e-8, rtol: 0 }, 'ok');
  let msg = '';
  try {
    expectClose([1, 2.5, 3, NaN], [1, 2, 3.5, 4], { atol: 1e-6, rtol: 1e-6 }, 'bad');
  } catch (e) {
    msg = (e as Error).message;
  }
  assert.match(msg, 'bad: 3 of 4 values differ');
  assert.match(msg, '[1] got 2.5 ref 2');
  assert.match(msg, '[3] got NaN ref 4');
  assert.match(msg, 'max abs diff 5.000e-1');
});

test.run();
