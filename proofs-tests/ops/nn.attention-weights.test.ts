/** Multiplicative key weights in attention: 0 is exactly a mask, and the weights are differentiable. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  attention,
  cpuBackend,
  mul,
  prngKey,
  randomNormal,
  randomUniform,
  scope,
  splitKey,
  sub,
  tensor,
  type Tensor,
} from '../../core/index.ts';
import { checkVjp } from '../support/gradcheck.ts';

const bk = cpuBackend();

test('key weight 0 equals an additive mask; weight 1 changes nothing', () =>
  scope(bk, () => {
    const [kq, kk, kv] = splitKey(prngKey(3), 3);
    const q = randomNormal(bk, kq!, [2, 2, 3, 4], 0, 1, { dtype: 'f64' });
    const k = randomNormal(bk, kk!, [2, 2, 5, 4], 0, 1, { dtype: 'f64' });
    const v = randomNormal(bk, kv!, [2, 2, 5, 4], 0, 1, { dtype: 'f64' });
    const keep = tensor(
      bk,
      [
        [1, 1, 0, 1, 0],
        [1, 0, 1, 1, 1],
      ],
      { dtype: 'f64' },
    );
    const w = tensor(bk, keep.dataSync(), { shape: [2, 1, 1, 5], dtype: 'f64' });
    const bias = mul(sub(1, w), -1e300);
    const a = attention(q, k, v, undefined, 0.5, w).dataSync();
    const b = attention(q, k, v, bias, 0.5).dataSync();
    a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < 1e-12, `element ${i}: ${x} vs ${b[i]}`));
    const ones = tensor(bk, new Float64Array(10).fill(1), { shape: [2, 1, 1, 5], dtype: 'f64' });
    const c = attention(q, k, v, undefined, 0.5, ones).dataSync(),
      d = attention(q, k, v, undefined, 0.5).dataSync();
    c.forEach((x, i) => assert.ok(Math.abs(x - d[i]!) < 1e-12));
  }));

test('VJP of attention with key weights (to q, k, v and the weights) matches finite differences', () =>
  scope(bk, () => {
    const [kq, kk, kv, kw] = splitKey(prngKey(4), 4);
    const inputs = {
      q: randomNormal(bk, kq!, [1, 2, 3, 2], 0, 1, { dtype: 'f64' }),
      k: randomNormal(bk, kk!, [1, 2, 4, 2], 0, 1, { dtype: 'f64' }),
      v: randomNormal(bk, kv!, [1, 2, 4, 2], 0, 1, { dtype: 'f64' }),
      w: randomUniform(bk, kw!, [1, 1, 1, 4], 0.2, 1, { dtype: 'f64' }),
    };
    checkVjp(
      (p: { q: Tensor; k: Tensor; v: Tensor; w: Tensor }) => attention(p.q, p.k, p.v, undefined, 0.7, p.w),
      inputs,
      { label: 'attention/keyWeights' },
    );
  }));

test.run();
