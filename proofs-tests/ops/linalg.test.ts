/** Batched matmul: all four transpose combinations, broadcast batch axes, VJP and a naive triple-loop reference. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { cpuBackend, matmul, scope, sum, tensor, valueAndGrad, type Tensor } from '../../core/index.ts';
import { broadcastShapesArb, forAll, seedArb, toTensor, valuesArb, type TensorSpec } from '../support/arbitraries.ts';
import { at, broadcastShape, forEachIndex } from '../support/broadcast-ref.ts';
import { expectClose } from '../support/close.ts';
import { checkVjp } from '../support/gradcheck.ts';

const bk = cpuBackend();

interface Case {
  a: TensorSpec;
  b: TensorSpec;
  transA: boolean;
  transB: boolean;
}

const dim = fc.integer({ min: 1, max: 4 });
const caseArb: fc.Arbitrary<Case> = fc
  .tuple(broadcastShapesArb(2, { maxRank: 2, maxDim: 3 }), dim, dim, dim, fc.boolean(), fc.boolean())
  .chain(([[ba, bb], M, K, N, transA, transB]) =>
    fc
      .tuple(valuesArb([...ba!, ...(transA ? [K, M] : [M, K])]), valuesArb([...bb!, ...(transB ? [N, K] : [K, N])]))
      .map(([a, b]) => ({ a, b, transA, transB })),
  );

/** C[..., i, j] = Σ_k op(A)[..., i, k] · op(B)[..., k, j], batch axes broadcast; plain loops. */
function matmulRef({ a, b, transA, transB }: Case): { shape: number[]; values: Float64Array } {
  const [M, K] = transA ? [a.shape.at(-1)!, a.shape.at(-2)!] : [a.shape.at(-2)!, a.shape.at(-1)!];
  const N = transB ? b.shape.at(-2)! : b.shape.at(-1)!;
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, M, N];
  const out = new Float64Array(shape.reduce((x, y) => x * y, 1));
  const sub = (s: TensorSpec, bi: readonly number[], r: number, c: number, t: boolean) =>
    at({ shape: s.shape, values: s.values }, [...bi, t ? c : r, t ? r : c].slice(-(bi.length + 2)));
  let o = 0;
  forEachIndex(batch, (bi) => {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += sub(a, bi, i, k, transA) * sub(b, bi, k, j, transB);
        out[o++] = acc;
      }
    }
  });
  return { shape, values: out };
}

test('vjp: matmul, every transpose combination, broadcast batch axes', () => {
  forAll(bk, fc.tuple(caseArb, seedArb), ([c, seed]) =>
    checkVjp(([x, y]) => matmul(x, y, c.transA, c.transB), [toTensor(bk, c.a), toTensor(bk, c.b)], {
      seed,
      label: `matmul ${c.a.shape}${c.transA ? 'ᵀ' : ''} · ${c.b.shape}${c.transB ? 'ᵀ' : ''}`,
    }),
  );
});

test('forward: matmul matches a naive triple loop', () => {
  forAll(bk, caseArb, (c) => {
    const y = matmul(toTensor(bk, c.a), toTensor(bk, c.b), c.transA, c.transB);
    const ref = matmulRef(c);
    assert.equal([...y.shape], ref.shape);
    expectClose(y, ref.values, { atol: 1e-13, rtol: 1e-13 }, 'matmul');
  });
});

test('matmul [2,1,3,4] · [5,4,2] → [2,5,3,2]; batch-broadcast gradients are summed back', () => {
  for (const [transA, transB] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    scope(bk, () => {
      const sa = [2, 1, ...(transA ? [4, 3] : [3, 4])],
        sb = [5, ...(transB ? [2, 4] : [4, 2])];
      const mk = (shape: number[], k: number) =>
        tensor(
          bk,
          Float64Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(i * k) + 0.1),
          { shape, dtype: 'f64' },
        );
      const a = mk(sa, 1.3),
        b = mk(sb, 0.7);
      const y = matmul(a, b, transA, transB);
      assert.equal([...y.shape], [2, 5, 3, 2]);
      const spec = (t: Tensor) => ({ shape: [...t.shape], values: Float64Array.from(t.dataSync()) });
      expectClose(
        y,
        matmulRef({ a: spec(a), b: spec(b), transA, transB }).values,
        { atol: 1e-13, rtol: 1e-13 },
        'fixed',
      );
      const [, g] = valueAndGrad((p: { a: Tensor; b: Tensor }) => sum(matmul(p.a, p.b, transA, transB)))({ a, b });
      assert.equal([...g.a.shape], sa);
      assert.equal([...g.b.shape], sb);
      checkVjp(([x, z]) => matmul(x, z, transA, transB), [a, b], { label: `fixed ${transA}${transB}` });
    });
  }
});

test('matmul errors name the op and both shapes', () => {
  scope(bk, () => {
    const a = tensor(bk, [[1, 2, 3]], { dtype: 'f64' }),
      b = tensor(bk, [[1, 2]], { dtype: 'f64' });
    assert.throws(() => matmul(a, b), /matmul: inner dimensions differ: \[1, 3\] · \[1, 2\] \(K 3 vs 1\)/);
    assert.throws(() => matmul(tensor(bk, [1, 2], { dtype: 'f64' }), b), /matmul: operands need rank ≥ 2, got \[2\]/);
    const ba = tensor(bk, new Float64Array(12), { shape: [2, 2, 3], dtype: 'f64' }),
      bb = tensor(bk, new Float64Array(18), { shape: [3, 3, 2], dtype: 'f64' });
    assert.throws(() => matmul(ba, bb), /matmul \(batch axes\): shapes \[2\] and \[3\] do not broadcast/);
  });
});

test.run();
