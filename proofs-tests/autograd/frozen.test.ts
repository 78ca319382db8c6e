/**
 * Frozen weights are constants by construction: ops on closed-over tensors record no tape nodes and
 * cost no backward work. Checked two ways: a CpuBackend subclass that logs every kernel call, and a
 * spy on Tape.prototype.record (test-only introspection).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  add,
  CpuBackend,
  gather,
  layerNorm,
  matmul,
  mul,
  scope,
  sum,
  tanh,
  tensor,
  valueAndGrad,
  type Shape,
  type Tensor,
  type TensorRef,
} from '../../core/index.ts';
import type { MatmulOptions, UnaryOp } from '../../core/backend/backend.ts';
import { Tape } from '../../core/autograd/tape.ts';
import { expectClose } from '../support/close.ts';

/** Logs kernel calls (name, plus detail for matmul/unary) while `recording`. */
class CountingBackend extends CpuBackend {
  recording = false;
  readonly calls: string[] = [];
  private log(name: string): void {
    if (this.recording) this.calls.push(name);
  }
  override matmul(a: TensorRef, b: TensorRef, o: MatmulOptions, out: Shape) {
    this.log(`matmul ${a.shape}${o.transA ? 'ᵀ' : ''}·${b.shape}${o.transB ? 'ᵀ' : ''}`);
    return super.matmul(a, b, o, out);
  }
  override unary(op: UnaryOp, x: TensorRef) {
    this.log(`unary ${op}`);
    return super.unary(op, x);
  }
  override layerNorm(x: TensorRef, w: TensorRef, b: TensorRef, eps: number) {
    this.log('layerNorm');
    return super.layerNorm(x, w, b, eps);
  }
  override layerNormBackward(dy: TensorRef, x: TensorRef, w: TensorRef, m: TensorRef, r: TensorRef) {
    this.log('layerNormBackward');
    return super.layerNormBackward(dy, x, w, m, r);
  }
  override layerNormBackwardDx(dy: TensorRef, x: TensorRef, w: TensorRef, m: TensorRef, r: TensorRef) {
    this.log('layerNormBackwardDx');
    return super.layerNormBackwardDx(dy, x, w, m, r);
  }
  override gather(t: TensorRef, i: TensorRef) {
    this.log('gather');
    return super.gather(t, i);
  }
  override scatterAdd(i: TensorRef, u: TensorRef, n: number) {
    this.log('scatterAdd');
    return super.scatterAdd(i, u, n);
  }
  /** Calls made by `fn`. */
  during(fn: () => void): string[] {
    this.calls.length = 0;
    this.recording = true;
    try {
      fn();
    } finally {
      this.recording = false;
    }
    return [...this.calls];
  }
}

/** Names of the primitives recorded on any tape while `fn` runs. */
function recordedNodes(fn: () => void): string[] {
  const names: string[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- the spy calls it with the tape as `this`
  const orig = Tape.prototype.record;
  const spy: typeof orig = function (this: Tape, op, ins, attrs, out, saved) {
    names.push(op);
    return orig.call(this, op, ins, attrs, out, saved);
  };
  Tape.prototype.record = spy;
  try {
    fn();
  } finally {
    Tape.prototype.record = orig;
  }
  return names;
}

const bk = new CountingBackend();
const f64 = (shape: number[], k: number) =>
  tensor(
    bk,
    Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(k * (i + 1))),
    { shape, dtype: 'f64' },
  );

test('loss = Σ x·W: backward runs matmul exactly once, for dx (dy·Wᵀ), and never computes dW', () => {
  scope(bk, () => {
    const W = f64([4, 3], 0.7),
      x = f64([2, 4], 1.3);
    let g: { x: Tensor } | undefined;
    const calls = bk.during(() => {
      [, g] = valueAndGrad((p: { x: Tensor }) => sum(matmul(p.x, W)))({ x });
    });
    assert.equal(calls, ['matmul 2,4·4,3', 'matmul 2,3·4,3ᵀ']);
    const rowSums = [0, 1, 2, 3].map((k) => [0, 1, 2].reduce((s, j) => s + Math.sin(0.7 * (k * 3 + j + 1)), 0));
    expectClose(g!.x, [...rowSums, ...rowSums], { atol: 1e-15, rtol: 1e-15 }, 'dx');
  });
});

test('matmul(constant, constant) inside the loss: computed once forward, never on the tape, never in backward', () => {
  scope(bk, () => {
    const A = f64([3, 5], 0.3),
      B = f64([5, 3], 0.9),
      x = f64([3, 3], 1.1);
    const loss = (p: Tensor) => sum(mul(p, tanh(matmul(A, B))));
    let names: string[] = [];
    const calls = bk.during(() => {
      names = recordedNodes(() => {
        valueAndGrad(loss)(x);
      });
    });
    assert.equal(
      calls.filter((c) => c.startsWith('matmul')),
      ['matmul 3,5·5,3'],
      'one forward matmul',
    );
    assert.equal(
      calls.filter((c) => c.startsWith('unary')),
      ['unary tanh'],
      'tanh forward only: no tanh VJP work',
    );
    assert.not.ok(names.includes('matmul') || names.includes('tanh'), `recorded: ${names.join(', ')}`);
    assert.ok(names.includes('mul') && names.includes('reduceSum'), `recorded: ${names.join(', ')}`);
  });
});

test('a frozen encoder block (embedding gather, matmul, layerNorm with frozen γ/β): only prompt-path work', () => {
  scope(bk, () => {
    const V = 6,
      d = 4;
    const table = f64([V, d], 0.5),
      W = f64([d, d], 0.8),
      gamma = f64([d], 0.2),
      beta = f64([d], 0.4);
    const ids = tensor(bk, [1, 3, 3], { dtype: 'i32' });
    const prompt = f64([2, d], 1.7);
    const loss = (p: { prompt: Tensor }) => {
      const tokens = gather(table, ids); // frozen embedding lookup: no scatterAdd in backward
      const h = add(matmul(p.prompt, W), sum(tokens, 0, true)); // [2, d]
      return sum(mul(layerNorm(h, gamma, beta), h));
    };
    let names: string[] = [];
    const calls = bk.during(() => {
      names = recordedNodes(() => {
        valueAndGrad(loss)({ prompt });
      });
    });
    assert.ok(!calls.includes('scatterAdd'), 'no gradient for the frozen embedding table');
    assert.is(calls.filter((c) => c === 'gather').length, 1);
    assert.equal(
      calls.filter((c) => c.startsWith('matmul')),
      ['matmul 2,4·4,4', 'matmul 2,4·4,4ᵀ'],
      'dPrompt only, no dW',
    );
    assert.equal(
      calls.filter((c) => c.startsWith('layerNormBackward')),
      ['layerNormBackwardDx'],
      'dx only: no column sums for frozen γ/β',
    );
    assert.not.ok(names.includes('gather'), `recorded: ${names.join(', ')}`);
  });
});

test('layerNorm with trained γ/β runs the full backward once, and dx matches the dx-only kernel', () => {
  scope(bk, () => {
    const x = f64([3, 5], 0.9),
      gamma = f64([5], 0.3),
      beta = f64([5], 0.6),
      dyW = f64([3, 5], 1.9);
    const loss = (p: { x: Tensor; gamma: Tensor; beta: Tensor }) => sum(mul(layerNorm(p.x, p.gamma, p.beta), dyW));
    let gAll: { x: Tensor } | undefined, gX: { x: Tensor } | undefined;
    const all = bk.during(() => {
      [, gAll] = valueAndGrad(loss)({ x, gamma, beta });
    });
    assert.equal(
      all.filter((c) => c.startsWith('layerNormBackward')),
      ['layerNormBackward'],
    );
    bk.during(() => {
      [, gX] = valueAndGrad((p: { x: Tensor }) => loss({ x: p.x, gamma, beta }))({ x });
    });
    expectClose(gX!.x, gAll!.x, { atol: 0, rtol: 0 }, 'dx identical');
  });
});

test.run();
