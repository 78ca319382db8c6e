/** Clear errors: non-scalar or non-float outputs, integer parameters, shape errors inside f, nested differentiation. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  add,
  cast,
  cpuBackend,
  exp,
  grad,
  matmul,
  mul,
  scope,
  stopGradient,
  sum,
  tensor,
  valueAndGrad,
  vjp,
  type Tensor,
} from '../../core/index.ts';

const bk = cpuBackend();
const f64 = (v: number[] | number[][]) => tensor(bk, v, { dtype: 'f64' });

test('non-scalar, non-float or non-tensor outputs are refused with the shape and dtype', () => {
  scope(bk, () => {
    const x = f64([1, 2, 3]);
    assert.throws(
      () => valueAndGrad((p: Tensor) => mul(p, 2))(x),
      (e: Error) =>
        e instanceof TypeError &&
        e.message === 'valueAndGrad: the function returned [3] f64; it must return a float tensor with one element',
    );
    assert.throws(
      () => valueAndGrad((p: Tensor) => cast(sum(p), 'i32'))(x),
      /returned \[\] i32; it must return a float tensor/,
    );
    assert.throws(() => valueAndGrad((() => 3) as unknown as (p: Tensor) => Tensor)(x), /must return a scalar Tensor/);
    // one element of any rank is a scalar loss
    const [v] = valueAndGrad((p: Tensor) => sum(p, 0, true))(x);
    assert.equal([...v.shape], [1]);
  });
});

test('integer parameters and trees without tensors are refused', () => {
  scope(bk, () => {
    const ids = tensor(bk, [1, 2], { dtype: 'i32' });
    assert.throws(
      () => valueAndGrad((p: Tensor) => sum(cast(p, 'f64')))(ids),
      (e: Error) => e instanceof TypeError && /valueAndGrad: cannot differentiate a i32 tensor \[2\]/.test(e.message),
    );
    assert.throws(
      () => valueAndGrad((p: { a: Tensor; ids: Tensor }) => sum(p.a))({ a: f64([1]), ids }),
      /cannot differentiate a i32 tensor \[2\]/,
    );
    assert.throws(
      () => valueAndGrad((_p: { n: number }) => sum(f64([1])))({ n: 1 }),
      /argument\(s\) 0 contain no tensors to differentiate/,
    );
    assert.throws(() => vjp((_p: number[]) => f64([1]), [1, 2]), /vjp: the primal contains no tensors/);
  });
});

test('shape errors inside the loss name the op, both shapes and the axis', () => {
  scope(bk, () => {
    const x = f64([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.throws(
      () => valueAndGrad((p: Tensor) => sum(add(p, f64([1, 2]))))(x),
      (e: Error) =>
        e.name === 'ShapeError' &&
        e.message === 'add: shapes [2, 3] and [2] do not broadcast (axis -1 of the result: 3 vs 2)',
    );
    assert.throws(
      () => valueAndGrad((p: Tensor) => sum(matmul(p, p)))(x),
      /matmul: inner dimensions differ: \[2, 3\] · \[2, 3\] \(K 3 vs 2\)/,
    );
    const [, pullback] = vjp((p: Tensor) => exp(p), x);
    assert.throws(() => pullback(f64([1, 2, 3])), /vjp: cotangent \[3\] does not match the output \[2, 3\]/);
  });
});

test('disposed inputs are reported by the op that reads them', () => {
  scope(bk, () => {
    const x = f64([1, 2]);
    x.dispose();
    assert.throws(() => exp(x), /exp: input tensor \[2\] f64 was already disposed/);
  });
});

/*
 * Grad of grad is NOT supported (there is no higher-order tape). Before the fix in core/autograd/tape.ts
 * (Tape.leaf), an inner valueAndGrad re-traced the outer-traced argument on a fresh tape, dropping the
 * outer trace, so the outer gradient was silently all zeros (d/dx Σ d(Σx³)/dx returned [0,0,0], not 6x).
 * It must fail loudly instead.
 */
test('grad of grad is unsupported and says so (never a silent zero)', () => {
  scope(bk, () => {
    const x = f64([1, 2, 3]);
    const inner = grad((q: Tensor) => sum(mul(mul(q, q), q)));
    assert.throws(() => valueAndGrad((p: Tensor) => sum(inner(p)))(x), /nested differentiation/);
    assert.throws(
      () => valueAndGrad((p: Tensor) => sum(vjp((q: Tensor) => exp(q), p)[0]))(x),
      /nested differentiation/,
    );
    // mixing two live traces in one op is refused as well
    assert.throws(
      () => valueAndGrad((p: Tensor) => sum(grad((q: Tensor) => sum(mul(q, p)))(f64([1, 1, 1]))))(x),
      /traced by two different differentiation scopes/,
    );
    // supported: differentiate outside, or an explicitly stopGradient-ed copy (outer gradient zero by request)
    assert.equal(Array.from(inner(x).dataSync()), [3, 12, 27]);
    const [v, g] = valueAndGrad((p: Tensor) => sum(inner(stopGradient(p))))(x);
    assert.is(v.itemSync(), 42);
    assert.equal(Array.from(g.dataSync()), [0, 0, 0]);
  });
});

test.run();
