/**
 * The VJP of every primitive, in one table keyed by OpName (core/autograd/primitives.ts): a primitive
 * without a rule does not compile. Rules are written with the same tensor ops, so they run on every
 * backend; each returns one thunk per input, called only for inputs on a path to the loss. Broadcast
 * axes are summed back by the walker (core/autograd/tape.ts), not here. The proofs are keyed the same
 * way (proofs-tests/ops/vjp-cases.ts).
 */
import type { BinaryOp, UnaryOp } from '../../backend/backend.ts';
import type { ReduceAttrs, VjpRule, VjpRules, VjpThunk } from '../../autograd/primitives.ts';
import { isFloat } from '../dtype.ts';
import type { Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { attentionBackward } from './attention.ts';
import { scalarLike } from './bind.ts';
import {
  add,
  cast,
  compare,
  cos,
  div,
  equal,
  exp,
  log,
  mul,
  neg,
  pow,
  sign,
  sin,
  square,
  step,
  sub,
  unary,
  where,
} from './elementwise.ts';
import { gather, scatterAdd, moveRows } from './indexing.ts';
import { matmul } from './linalg.ts';
import { crossEntropyBackward, layerNormBackward, layerNormBackwardDx } from './nn-fused.ts';
import { reduceRaw, sum } from './reduce.ts';
import { broadcastTo, pad, permute, invertPermutation, reshape, slice } from './shape-ops.ts';

const T = true,
  F = false;
const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** A primitive whose inputs get no gradient (comparisons, argmax, one-hot, the backward kernels). */
const noGrad = (): readonly undefined[] => [];
/** A unary rule from dy, the input x and the output y. */
const pointwise =
  <O extends UnaryOp>(rule: (dy: Tensor, x: Tensor, y: Tensor) => Tensor): VjpRule<O> =>
  (dy, [x], y) => [() => rule(dy, x!, y)];
/** A binary rule from dy, the inputs a, b and the output y. */
const bilinear =
  <O extends BinaryOp>(
    rule: (dy: Tensor, a: Tensor, b: Tensor, y: Tensor) => [VjpThunk | undefined, VjpThunk | undefined],
  ): VjpRule<O> =>
  (dy, [a, b], y) =>
    rule(dy, a!, b!, y);

/** 1 where a > b, 0.5 where a == b, 0 elsewhere, in a's dtype (ties split the gradient evenly, as torch.maximum). */
const tieWeight = (a: Tensor, b: Tensor): Tensor =>
  mul(add(cast(compare('gt', a, b), a.dtype), cast(compare('ge', a, b), a.dtype)), 0.5);

/** Brings a reduced tensor back to the input's rank (size-1 reduced axes), then broadcasts. */
const unreduce = (t: Tensor, a: ReduceAttrs, to: Shape): Tensor => broadcastTo(reshape(t, a.keptShape), to);

/** max/min over axes: the cotangent goes to the arg-extrema, shared evenly between ties. */
const extremum: VjpRule<'reduceMax' | 'reduceMin'> = (dy, [x], y, a) => [
  () => {
    const hit = cast(equal(x!, unreduce(y, a, x!.shape)), x!.dtype);
    const count = reshape(reduceRaw('sum', hit, a.axes), a.keptShape);
    return mul(div(hit, count), unreduce(dy, a, x!.shape));
  },
];

export const vjpRules: VjpRules = {
  // ---------- unary: d/dx ----------
  neg: pointwise((dy) => neg(dy)),
  exp: pointwise((dy, _x, y) => mul(dy, y)),
  log: pointwise((dy, x) => div(dy, x)),
  sqrt: pointwise((dy, _x, y) => div(mul(dy, 0.5), y)),
  rsqrt: pointwise((dy, _x, y) => mul(mul(dy, -0.5), mul(y, mul(y, y)))),
  abs: pointwise((dy, x) => mul(dy, sign(x))),
  sign: noGrad,
  tanh: pointwise((dy, _x, y) => mul(dy, sub(1, square(y)))),
  sigmoid: pointwise((dy, _x, y) => mul(dy, mul(y, sub(1, y)))),
  relu: pointwise((dy, x) => mul(dy, step(x))),
  step: noGrad,
  erf: pointwise((dy, x) => mul(dy, mul(exp(neg(square(x))), TWO_OVER_SQRT_PI))),
  gelu: pointwise((dy, x) => mul(dy, unary('geluGrad', x))),
  geluGrad: noGrad,
  recip: pointwise((dy, _x, y) => neg(mul(dy, square(y)))),
  square: pointwise((dy, x) => mul(dy, mul(x, 2))),
  log1p: pointwise((dy, x) => div(dy, add(x, 1))),
  sin: pointwise((dy, x) => mul(dy, cos(x))),
  cos: pointwise((dy, x) => neg(mul(dy, sin(x)))),

  // ---------- binary (broadcast axes summed by the walker) ----------
  add: bilinear((dy) => [() => dy, () => dy]),
  sub: bilinear((dy) => [() => dy, () => neg(dy)]),
  mul: bilinear((dy, a, b) => [() => mul(dy, b), () => mul(dy, a)]),
  div: bilinear((dy, a, b) => [() => div(dy, b), () => neg(div(mul(dy, a), square(b)))]),
  // d/db = y·log a, masked to 0 where a = 0 and b ≥ 0 (torch's rule; the limit of b·log a there)
  pow: bilinear((dy, a, b, y) => [
    () => mul(dy, mul(b, pow(a, sub(b, 1)))),
    () => mul(dy, where(mul(compare('eq', a, 0), compare('ge', b, 0)), 0, mul(y, log(a)))),
  ]),
  max: bilinear((dy, a, b) => [() => mul(dy, tieWeight(a, b)), () => mul(dy, tieWeight(b, a))]),
  min: bilinear((dy, a, b) => [() => mul(dy, tieWeight(b, a)), () => mul(dy, tieWeight(a, b))]),

  // ---------- compare, where, cast ----------
  compare: noGrad,
  where: (dy, [c, a]) => [undefined, () => where(c!, dy, scalarLike(0, a!)), () => where(c!, scalarLike(0, a!), dy)],
  // an f16 input gets none: f16 is frozen storage (dtype.ts)
  cast: (dy, [x]) => [isFloat(x!.dtype) ? () => cast(dy, x!.dtype) : undefined],

  // ---------- reductions ----------
  reduceSum: (dy, [x], _y, a) => [() => unreduce(dy, a, x!.shape)],
  reduceMax: extremum,
  reduceMin: extremum,
  argmax: noGrad,

  // ---------- data movement ----------
  reshape: (dy, [x]) => [() => reshape(dy, x!.shape)],
  permute: (dy, _ins, _y, perm) => [() => permute(dy, invertPermutation(perm))],
  broadcastTo: (dy) => [() => dy], // the walker sums the broadcast axes
  slice: (dy, [x], _y, a) => [
    () =>
      pad(
        dy,
        a.begin,
        x!.shape.map((d, i) => d - a.begin[i]! - a.size[i]!),
      ),
  ],
  pad: (dy, [x], _y, a) => [() => slice(dy, a.before, x!.shape)],
  concat: (dy, ins, _y, axis) => {
    let pos = 0;
    return ins.map((x) => {
      const begin = x.shape.map((_, i) => (i === axis ? pos : 0));
      pos += x.shape[axis]!;
      return () => slice(dy, begin, x.shape);
    });
  },

  // ---------- linear algebra ----------
  /**
   * C = op(A)·op(B). With Aₛ, Bₛ the stored operands:
   *   NN: dA = dC·Bᵀ  dB = Aᵀ·dC      NT: dA = dC·Bₛ   dBₛ = dCᵀ·A
   *   TN: dAₛ = B·dCᵀ dB = Aₛ·dC      TT: dAₛ = Bₛᵀ·dCᵀ dBₛ = dCᵀ·Aₛᵀ
   * Batch axes that were broadcast are summed by the walker.
   */
  matmul: (dy, [a, b], _y, { transA, transB }) => {
    if (!transA && !transB) return [() => matmul(dy, b!, F, T), () => matmul(a!, dy, T, F)];
    if (!transA && transB) return [() => matmul(dy, b!, F, F), () => matmul(dy, a!, T, F)];
    if (transA && !transB) return [() => matmul(b!, dy, F, T), () => matmul(a!, dy, F, F)];
    return [() => matmul(b!, dy, T, T), () => matmul(dy, a!, T, T)];
  },
  // y = x·wᵀ + b: dx = dy·w, dw = dyᵀ·x, db = Σ_rows dy
  matmulBias: (dy, [x, w]) => [() => matmul(dy, w!, F, F), () => matmul(dy, x!, T, F), () => sum(dy, 0)],

  // ---------- indexing ----------
  gather: (dy, [table, idx]) => [() => scatterAdd(idx!, dy, table!.shape[0]!), undefined],
  scatterAdd: (dy, [idx]) => [undefined, () => gather(dy, idx!)],
  // a one-to-one move is transposed by the inverse map: a row copy, no scatter-add
  takeRows: (dy, [, index, inverse]) => [
    () => moveRows(dy, { index: inverse!, inverse: index! }),
    undefined,
    undefined,
  ],
  oneHot: noGrad,

  // ---------- fused along the last axis ----------
  // y = softmax(x): dx = y ⊙ (dy − Σ dy ⊙ y)
  softmax: (dy, _x, y) => [() => mul(y, sub(dy, sum(mul(dy, y), -1, true)))],
  // y = log-softmax(x): dx = dy − exp(y) ⊙ Σ dy
  logSoftmax: (dy, _x, y) => [() => sub(dy, mul(exp(y), sum(dy, -1, true)))],
  // one call of the fused backward kernel serves all three thunks; frozen γ/β (prompt tuning): dx alone
  layerNorm: (dy, [x, w], _y, _a, [mean, rstd], needs) => {
    if (!needs[1] && !needs[2]) return [() => layerNormBackwardDx(dy, x!, w!, mean!, rstd!), undefined, undefined];
    let cached: { dx: Tensor; dWeight: Tensor; dBias: Tensor } | undefined;
    const grads = () => (cached ??= layerNormBackward(dy, x!, w!, mean!, rstd!));
    return [() => grads().dx, () => grads().dWeight, () => grads().dBias];
  },
  layerNormBackward: noGrad,
  layerNormBackwardDx: noGrad,
  // loss = −Σ target·log softmax(x): dx = dy·(softmax(x) − target), from the saved log-sum-exp
  crossEntropy: (dy, [logits, labels], _y, a, [lse]) => [
    () => crossEntropyBackward(dy, logits!, labels!, lse!, a.ignoreIndex, a.smoothing),
    undefined,
  ],
  crossEntropyBackward: noGrad,
  // one call of the fused backward kernel serves the q, k and v thunks; the bias (a mask) gets none
  attention: (dy, [q, k, v, bias], out, { scale }, [lse]) => {
    let cached: { dq: Tensor; dk: Tensor; dv: Tensor } | undefined;
    const grads = () => (cached ??= attentionBackward(dy, q!, k!, v!, bias, out, lse!, scale));
    return [() => grads().dq, () => grads().dk, () => grads().dv];
  },
  attentionBackward: noGrad,
};
