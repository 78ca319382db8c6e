/** valueAndGrad / grad / vjp over parameter trees: tree shapes, argnums, hasAux, stopGradient, accumulation. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  add,
  cpuBackend,
  exp,
  grad,
  mul,
  scope,
  stopGradient,
  sum,
  tanh,
  tensor,
  treeLeaves,
  valueAndGrad,
  vjp,
  type Tensor,
} from '../../core/index.ts';
import { forAll, seedArb, tensorArb, toTensor } from '../support/arbitraries.ts';
import { expectClose } from '../support/close.ts';
import { checkVjp } from '../support/gradcheck.ts';

const bk = cpuBackend();
const EXACT = { atol: 0, rtol: 0 };
const f64 = (v: number[] | number[][]) => tensor(bk, v, { dtype: 'f64' });

interface Params {
  emb: Tensor;
  layers: { w: Tensor; b: Tensor }[];
  extra: [Tensor, { deep: Tensor }];
  name: string;
  lr: number;
}

test('nested trees (objects and arrays): grads have the same tree shape; non-tensor leaves pass through', () => {
  scope(bk, () => {
    const p: Params = {
      emb: f64([1, 2]),
      layers: [
        {
          w: f64([
            [1, 2],
            [3, 4],
          ]),
          b: f64([0.5, -0.5]),
        },
        {
          w: f64([
            [0, 1],
            [1, 0],
          ]),
          b: f64([1, 1]),
        },
      ],
      extra: [f64([3]), { deep: f64([[2]]) }],
      name: 'prompt',
      lr: 0.1,
    };
    const loss = (q: Params) => {
      let h = q.emb;
      for (const l of q.layers) h = add(sum(mul(l.w, h), 1), l.b);
      return add(sum(mul(h, q.extra[0])), sum(mul(q.extra[1].deep, q.extra[1].deep)));
    };
    const [v, g] = valueAndGrad(loss)(p);
    assert.is(g.name, 'prompt');
    assert.is(g.lr, 0.1);
    assert.equal(
      treeLeaves(g).map((l) => `${l.path}:${l.leaf.shape}`),
      treeLeaves(p).map((l) => `${l.path}:${l.leaf.shape}`),
    );
    // h1 = W1·emb + b1 = [5.5, 10.5]; h2 = W2·h1 + b2 = [11.5, 6.5]; loss = 3·Σh2 + 4
    assert.is(v.itemSync(), 3 * 18 + 4);
    expectClose(g.layers[1]!.b, [3, 3], EXACT, 'db2');
    expectClose(g.layers[1]!.w, [3 * 5.5, 3 * 10.5, 3 * 5.5, 3 * 10.5], EXACT, 'dW2');
    expectClose(g.layers[0]!.b, [3, 3], EXACT, 'db1'); // W2ᵀ·[3,3] = [3,3]
    expectClose(g.emb, [12, 18], EXACT, 'demb'); // W1ᵀ·[3,3]
    expectClose(g.extra[0], [18], EXACT, 'dextra0');
    expectClose(g.extra[1].deep, [4], EXACT, 'ddeep');
    checkVjp((q) => loss({ ...p, emb: q.emb, layers: q.layers, extra: q.extra }), {
      emb: p.emb,
      layers: p.layers,
      extra: p.extra,
    });
  });
});

test('argnums: a number returns one tree, an array returns one tree per argument', () => {
  scope(bk, () => {
    const a = f64([1, 2]),
      b = f64([3, 4]),
      c = f64([5, 6]);
    const f = (x: Tensor, y: Tensor, z: Tensor) => sum(mul(mul(x, y), z));
    const [v1, gb] = valueAndGrad(f, { argnums: 1 })(a, b, c);
    assert.is(v1.itemSync(), 15 + 48);
    expectClose(gb, [5, 12], EXACT, 'd/db');
    const [, gs] = valueAndGrad(f, { argnums: [0, 2] })(a, b, c);
    const [ga, gc] = gs as unknown as [Tensor, Tensor];
    expectClose(ga, [15, 24], EXACT, 'd/da');
    expectClose(gc, [3, 8], EXACT, 'd/dc');
    const [, g0] = valueAndGrad(f, { argnums: [0] })(a, b, c);
    assert.ok(Array.isArray(g0), 'argnums [0] returns a list');
  });
});

test('hasAux: aux comes back untraced and usable; grad() returns only the gradient', () => {
  scope(bk, () => {
    const x = f64([0.5, -1]);
    const [[v, aux], g] = valueAndGrad(
      (p: Tensor) => {
        const h = tanh(p);
        return [sum(mul(h, h)), { h, count: 2 }] as [Tensor, { h: Tensor; count: number }];
      },
      { hasAux: true },
    )(x);
    assert.is(aux.count, 2);
    assert.is(aux.h.trace, undefined, 'aux is untraced');
    assert.is(v.trace, undefined, 'value is untraced');
    expectClose(aux.h, [Math.tanh(0.5), Math.tanh(-1)], { atol: 1e-15, rtol: 0 }, 'aux');
    const th = [Math.tanh(0.5), Math.tanh(-1)];
    expectClose(
      g,
      th.map((t) => 2 * t * (1 - t * t)),
      { atol: 1e-15, rtol: 1e-15 },
      'grad with aux',
    );
    expectClose(grad((p: Tensor) => sum(mul(tanh(p), tanh(p))))(x), g, EXACT, 'grad()');
    // aux and value can feed a later differentiation as plain constants
    const [, g2] = valueAndGrad((p: Tensor) => sum(mul(p, aux.h)))(x);
    expectClose(g2, aux.h, EXACT, 'aux as a constant');
  });
});

test('vjp: the pullback can be called twice and is linear in the cotangent', () => {
  forAll(bk, fc.tuple(tensorArb({ minRank: 1 }), seedArb), ([s, seed]) => {
    const x = toTensor(bk, s);
    const [y, pullback] = vjp((t: Tensor) => mul(exp(t), t), x);
    assert.is(y.trace, undefined);
    const c1 = toTensor(bk, { shape: s.shape, values: s.values.map((v, i) => Math.sin(v + i + seed)) });
    const c2 = toTensor(bk, { shape: s.shape, values: s.values.map((v, i) => Math.cos(v * i - seed)) });
    const g1 = pullback(c1),
      g2 = pullback(c2),
      g12 = pullback(add(c1, mul(c2, 2)));
    expectClose(g12, add(g1, mul(g2, 2)), { atol: 1e-13, rtol: 1e-13 }, 'linearity');
    expectClose(g1, mul(c1, mul(exp(x), add(x, 1))), { atol: 1e-13, rtol: 1e-13 }, 'closed form');
    const again = pullback(c1);
    expectClose(again, g1, EXACT, 'second call with the same cotangent');
  });
});

test('stopGradient blocks flow; a leaf used several times accumulates; unused parameters get zeros', () => {
  forAll(bk, tensorArb({ minRank: 1 }), (s) => {
    const x = toTensor(bk, s);
    const [, gs] = valueAndGrad((p: Tensor) => sum(mul(p, stopGradient(p))))(x);
    expectClose(gs, s.values, EXACT, 'd Σ x·sg(x) = x');
    const [, ga] = valueAndGrad((p: Tensor) => add(add(sum(mul(mul(p, p), p)), sum(p)), sum(mul(p, 2))))(x);
    expectClose(
      ga,
      s.values.map((v) => 3 * v * v + 3),
      { atol: 1e-13, rtol: 1e-13 },
      'accumulated',
    );
    const [, gu] = valueAndGrad((p: { used: Tensor; unused: Tensor; alsoUnused: Tensor[] }) => sum(p.used))({
      used: x,
      unused: f64([[1, 2, 3]]),
      alsoUnused: [tensor(bk, [1], { dtype: 'f32' })],
    });
    expectClose(gu.unused, [0, 0, 0], EXACT, 'unused');
    assert.equal([...gu.unused.shape], [1, 3]);
    assert.is(gu.alsoUnused[0]!.dtype, 'f32');
    expectClose(gu.alsoUnused[0]!, [0], EXACT, 'unused f32');
  });
});

test('the same tensor in two leaves gets two independent gradients; f = identity returns ones', () => {
  scope(bk, () => {
    const x = f64([2]);
    const [, g] = valueAndGrad((p: { a: Tensor; b: Tensor }) => sum(mul(p.a, mul(p.b, p.b))))({ a: x, b: x });
    expectClose(g.a, [4], EXACT, 'da');
    expectClose(g.b, [8], EXACT, 'db');
    const s = tensor(bk, 3, { dtype: 'f64' });
    const [v, gi] = valueAndGrad((p: Tensor) => p)(s);
    assert.is(v.itemSync(), 3);
    assert.is(gi.itemSync(), 1);
    gi.dispose();
    assert.is(v.itemSync(), 3, 'disposing the gradient leaves the value alive');
  });
});

test('a loss that does not depend on the parameters gives zero gradients', () => {
  scope(bk, () => {
    const c = f64([1, 2]);
    const [v, g] = valueAndGrad((_p: Tensor) => sum(c))(f64([5, 6, 7]));
    assert.is(v.itemSync(), 3);
    expectClose(g, [0, 0, 0], EXACT, 'zeros');
  });
});

test.run();
