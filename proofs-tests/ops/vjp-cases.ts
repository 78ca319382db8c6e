/**
 * One proof case per primitive, keyed by OpName exactly as the rules are (core/tensor/ops/vjp-rules.ts):
 * a primitive without a case does not compile. A case either builds inputs and a function through the
 * primitive, checked against central finite differences in f64 (vjp-rules.test.ts), or says why no
 * input gets a gradient (the test then checks that the rule gives none). `deeper` names the family
 * test that proves the rule over generated shapes, broadcasting and edge values.
 */
import fc from 'fast-check';
import type { OpName } from '../../core/autograd/primitives.ts';
import type { UnaryOp } from '../../core/backend/backend.ts';
import {
  broadcastTo,
  cast,
  concat,
  fusedAttention,
  gather,
  layerNorm,
  logSoftmax,
  matmul,
  matmulBias,
  max,
  maximum,
  min,
  minimum,
  moveRows,
  pad,
  reshape,
  rowMap,
  scatterAdd,
  slice,
  softmax,
  softmaxCrossEntropy,
  sum,
  tensor,
  transpose,
  unary,
  where,
  add,
  sub,
  mul,
  div,
  pow,
  compare,
  type Backend,
  type Tensor,
} from '../../core/index.ts';
import { shapeArb, tensorArb, valuesArb, type TensorSpec, type ValueOpts } from '../support/arbitraries.ts';

export interface VjpProof {
  readonly arb: fc.Arbitrary<readonly TensorSpec[]>;
  /** The differentiated inputs (f64 tensors of the specs, unless the case builds its own) and f over them. */
  readonly build: (
    bk: Backend,
    specs: readonly TensorSpec[],
  ) => { inputs: Tensor[]; f: (xs: readonly Tensor[]) => Tensor };
  /** The family test that proves the rule in depth. */
  readonly deeper: string;
}
export interface NoGradient {
  /** Why no input of this primitive gets a gradient. */
  readonly noGrad: string;
}
export type VjpCase = VjpProof | NoGradient;
export type VjpCases = { readonly [O in OpName]: VjpCase };

const f64 = (bk: Backend, s: TensorSpec): Tensor => tensor(bk, s.values, { shape: s.shape, dtype: 'f64' });
const specs = (...arbs: fc.Arbitrary<TensorSpec>[]): fc.Arbitrary<readonly TensorSpec[]> => fc.tuple(...arbs);
/** f applied to the f64 tensors of the specs. */
const plain =
  (f: (xs: readonly Tensor[]) => Tensor) =>
  (bk: Backend, s: readonly TensorSpec[]): { inputs: Tensor[]; f: (xs: readonly Tensor[]) => Tensor } => ({
    inputs: s.map((t) => f64(bk, t)),
    f,
  });

const unaryCase = (op: UnaryOp, range: ValueOpts): VjpProof => ({
  arb: specs(tensorArb(range)),
  build: plain(([x]) => unary(op, x!)),
  deeper: 'proofs-tests/ops/elementwise.unary.test.ts',
});
const AWAY0: ValueOpts = { avoid: [0], margin: 0.1 };

/** Two operands of one generated shape. */
const pairArb = (a: ValueOpts, b: ValueOpts): fc.Arbitrary<readonly TensorSpec[]> =>
  shapeArb().chain((shape) => specs(valuesArb(shape, a), valuesArb(shape, b)));
const binaryCase = (f: (a: Tensor, b: Tensor) => Tensor, a: ValueOpts = {}, b: ValueOpts = {}): VjpProof => ({
  arb: pairArb(a, b),
  build: plain(([x, y]) => f(x!, y!)),
  deeper: 'proofs-tests/ops/elementwise.binary.test.ts',
});
/** A fixed shape's values. */
const fixed = (...shapes: (readonly number[])[]): fc.Arbitrary<readonly TensorSpec[]> =>
  specs(...shapes.map((s) => valuesArb(s)));

const KERNEL_BACKWARD = 'a backward kernel, called from its forward rule; never differentiated again';

export const VJP_CASES: VjpCases = {
  neg: unaryCase('neg', {}),
  exp: unaryCase('exp', {}),
  log: unaryCase('log', { low: 0.1, high: 5 }),
  sqrt: unaryCase('sqrt', { low: 0.1, high: 5 }),
  rsqrt: unaryCase('rsqrt', { low: 0.2, high: 5 }),
  abs: unaryCase('abs', AWAY0),
  sign: { noGrad: 'piecewise constant: zero derivative wherever it exists' },
  tanh: unaryCase('tanh', { low: -4, high: 4 }),
  sigmoid: unaryCase('sigmoid', { low: -8, high: 8 }),
  relu: unaryCase('relu', AWAY0),
  step: { noGrad: 'piecewise constant: zero derivative wherever it exists' },
  erf: unaryCase('erf', { low: -4, high: 4 }),
  gelu: unaryCase('gelu', { low: -5, high: 5 }),
  geluGrad: { noGrad: "gelu's derivative, used only inside gelu's rule (no second derivatives)" },
  recip: unaryCase('recip', { low: -3, high: 3, avoid: [0], margin: 0.3 }),
  square: unaryCase('square', {}),
  log1p: unaryCase('log1p', { low: -0.8, high: 3 }),
  sin: unaryCase('sin', { low: -4, high: 4 }),
  cos: unaryCase('cos', { low: -4, high: 4 }),

  add: binaryCase(add),
  sub: binaryCase(sub),
  mul: binaryCase(mul),
  div: binaryCase(div, {}, { avoid: [0], margin: 0.3 }),
  pow: binaryCase(pow, { low: 0.3, high: 3 }, { low: -2, high: 2 }),
  // operands on disjoint lattices: never tied, so differentiable everywhere sampled
  max: binaryCase(maximum, { lattice: 0.25 }, { lattice: 0.75 }),
  min: binaryCase(minimum, { lattice: 0.25 }, { lattice: 0.75 }),

  compare: { noGrad: 'an i32 mask of 0/1' },
  where: {
    arb: shapeArb().chain((shape) => specs(valuesArb(shape), valuesArb(shape), valuesArb(shape))),
    build: (bk, [c, a, b]) => {
      const cond = compare('gt', f64(bk, c!), 0); // a constant mask: the condition gets no gradient
      return { inputs: [f64(bk, a!), f64(bk, b!)], f: ([x, y]) => where(cond, x!, y!) };
    },
    deeper: 'proofs-tests/ops/elementwise.select.test.ts',
  },
  cast: {
    arb: specs(tensorArb()),
    build: plain(([x]) => cast(x!, 'f64')),
    deeper: 'proofs-tests/ops/elementwise.select.test.ts',
  },

  reduceSum: {
    arb: specs(tensorArb({ minRank: 1 })),
    build: plain(([x]) => sum(x!, -1)),
    deeper: 'proofs-tests/ops/reduce.test.ts',
  },
  reduceMax: {
    arb: specs(tensorArb({ minRank: 1, distinct: true })),
    build: plain(([x]) => max(x!, 0)),
    deeper: 'proofs-tests/ops/reduce.test.ts',
  },
  reduceMin: {
    arb: specs(tensorArb({ minRank: 1, distinct: true })),
    build: plain(([x]) => min(x!, -1, true)),
    deeper: 'proofs-tests/ops/reduce.test.ts',
  },
  argmax: { noGrad: 'an i32 index' },

  reshape: {
    arb: specs(tensorArb()),
    build: plain(([x]) => reshape(x!, [-1])),
    deeper: 'proofs-tests/ops/shape-ops.test.ts',
  },
  permute: {
    arb: specs(tensorArb({ minRank: 2 })),
    build: plain(([x]) => transpose(x!, 0, -1)),
    deeper: 'proofs-tests/ops/shape-ops.test.ts',
  },
  broadcastTo: {
    arb: fixed([1, 3]),
    build: plain(([x]) => broadcastTo(x!, [4, 3])),
    deeper: 'proofs-tests/ops/shape-ops.test.ts',
  },
  slice: {
    arb: fixed([4, 3]),
    build: plain(([x]) => slice(x!, [1, 1], [2, -1])),
    deeper: 'proofs-tests/ops/shape-ops.test.ts',
  },
  pad: {
    arb: fixed([2, 3]),
    build: plain(([x]) => pad(x!, [1, 0], [2, 1], 0.5)),
    deeper: 'proofs-tests/ops/shape-ops.test.ts',
  },
  concat: {
    arb: fixed([2, 3], [1, 3]),
    build: plain(([a, b]) => concat([a!, b!], 0)),
    deeper: 'proofs-tests/ops/shape-ops.test.ts',
  },

  matmul: {
    arb: fixed([2, 3], [3, 4]),
    build: plain(([a, b]) => matmul(a!, b!)),
    deeper: 'proofs-tests/ops/linalg.test.ts',
  },
  matmulBias: {
    arb: fixed([2, 3], [4, 3], [4]),
    build: plain(([x, w, b]) => matmulBias(x!, w!, b!)),
    deeper: 'proofs-tests/ops/nn.test.ts',
  },

  gather: {
    arb: fixed([4, 3]),
    build: (bk, [t]) => {
      const idx = tensor(bk, [2, 0, 2], { dtype: 'i32' });
      return { inputs: [f64(bk, t!)], f: ([x]) => gather(x!, idx) };
    },
    deeper: 'proofs-tests/ops/indexing.test.ts',
  },
  scatterAdd: {
    arb: fixed([3, 2]),
    build: (bk, [u]) => {
      const idx = tensor(bk, [1, 0, 1], { dtype: 'i32' });
      return { inputs: [f64(bk, u!)], f: ([x]) => scatterAdd(idx, x!, 3) };
    },
    deeper: 'proofs-tests/ops/indexing.test.ts',
  },
  takeRows: {
    arb: fixed([3, 2]),
    build: (bk, [s]) => {
      const map = rowMap(bk, Int32Array.from([2, -1, 0]), 3);
      return { inputs: [f64(bk, s!)], f: ([x]) => moveRows(x!, map) };
    },
    deeper: 'proofs-tests/ops/indexing.test.ts',
  },
  oneHot: { noGrad: 'its input is an i32 index' },

  softmax: {
    arb: specs(tensorArb({ minRank: 1 })),
    build: plain(([x]) => softmax(x!)),
    deeper: 'proofs-tests/ops/nn-fused.test.ts',
  },
  logSoftmax: {
    arb: specs(tensorArb({ minRank: 1 })),
    build: plain(([x]) => logSoftmax(x!)),
    deeper: 'proofs-tests/ops/nn-fused.test.ts',
  },
  layerNorm: {
    arb: fixed([2, 5], [5], [5]),
    build: plain(([x, w, b]) => layerNorm(x!, w!, b!, 1e-5)),
    deeper: 'proofs-tests/ops/nn-fused.test.ts',
  },
  layerNormBackward: { noGrad: KERNEL_BACKWARD },
  layerNormBackwardDx: { noGrad: KERNEL_BACKWARD },
  crossEntropy: {
    arb: fixed([3, 4]),
    build: (bk, [l]) => {
      const labels = tensor(bk, [0, 3, 1], { dtype: 'i32' });
      return { inputs: [f64(bk, l!)], f: ([x]) => softmaxCrossEntropy(x!, labels, -100, 0.1) };
    },
    deeper: 'proofs-tests/ops/nn.test.ts',
  },
  crossEntropyBackward: { noGrad: KERNEL_BACKWARD },
  attention: {
    arb: fixed([1, 2, 3, 4], [1, 2, 5, 4], [1, 2, 5, 4]),
    build: plain(([q, k, v]) => fusedAttention(q!, k!, v!, undefined, 0.5)),
    deeper: 'proofs-tests/ops/attention.test.ts',
  },
  attentionBackward: { noGrad: KERNEL_BACKWARD },
};
