/**
 * Regression tests for core bugs the property suite found (all fixed): each states the expected,
 * torch-compatible behaviour.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  argmax,
  cpuBackend,
  crossEntropy,
  exp,
  oneHot,
  pow,
  scope,
  sum,
  tensor,
  valueAndGrad,
  vjp,
  type Tensor,
} from '../../core/index.ts';

const bk = cpuBackend();

test('crossEntropy: a label outside [0, C) that is not ignoreIndex must throw (it silently adds 0 to the loss and 1 to the mean count)', () => {
  scope(bk, () => {
    const logits = tensor(
      bk,
      [
        [1, 2, 3],
        [0, 0, 0],
      ],
      { dtype: 'f64' },
    );
    assert.throws(() => crossEntropy(logits, tensor(bk, [5, 0], { dtype: 'i32' })), /out of (range|bounds)/);
  });
});

test('pow: d/db a^b at a = 0, b > 0 is 0 (torch masks it), not NaN', () => {
  scope(bk, () => {
    const [, g] = valueAndGrad((p: { a: Tensor; b: Tensor }) => sum(pow(p.a, p.b)))({
      a: tensor(bk, [0, 1], { dtype: 'f64' }),
      b: tensor(bk, [2, 2], { dtype: 'f64' }),
    });
    assert.equal(Array.from(g.b.dataSync()), [0, 0]);
  });
});

test('argmax: a NaN is the maximum (numpy/torch, and consistent with max(), which returns NaN)', () => {
  scope(bk, () => assert.equal(Array.from(argmax(tensor(bk, [1, NaN, 3], { dtype: 'f64' })).dataSync()), [1]));
});

test("vjp: the pullback of the identity must not hand back the caller's cotangent object", () => {
  scope(bk, () => {
    const [, pullback] = vjp((t: Tensor) => t, tensor(bk, [1, 2], { dtype: 'f64' }));
    const ct = tensor(bk, [1, 1], { dtype: 'f64' });
    const g = pullback(ct);
    g.dispose();
    assert.not.ok(ct.isDisposed, 'disposing the gradient disposed the cotangent');
  });
});

test('vjp: a cotangent of the wrong dtype is refused by the pullback, naming both dtypes', () => {
  scope(bk, () => {
    const [, pullback] = vjp((t: Tensor) => exp(t), tensor(bk, [1], { dtype: 'f64' }));
    assert.throws(() => pullback(tensor(bk, [1], { dtype: 'f32' })), /^vjp: cotangent .*f32.*f64/);
  });
});

test('oneHot: a negative depth is a clear error naming oneHot', () => {
  scope(bk, () => assert.throws(() => oneHot(tensor(bk, [0], { dtype: 'i32' }), -1), /oneHot/));
});

test.run();
