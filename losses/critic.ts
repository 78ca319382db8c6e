/**
 * Critics: a critic scores every pair of an anchor batch x [N, dx] against a candidate batch
 * y [M, dy], giving scores [N, M]. The MI estimators (infonce.ts, nwj.ts, jsd.ts) take that matrix
 * (positives on the diagonal by default, or an i32 column per row), so research code can swap
 * critics and estimators independently.
 */
import { add, div, matmul, mul, sqrt, sum, ShapeError } from '../core/index.ts';
import type { Tensor } from '../core/index.ts';

/** (x [N, dx], y [M, dy]) → scores [N, M]. */
export type Critic = (x: Tensor, y: Tensor) => Tensor;

function check2d(op: string, x: Tensor, y: Tensor, sameDim: boolean): void {
  if (x.rank !== 2 || y.rank !== 2 || (sameDim && x.shape[1] !== y.shape[1])) {
    throw new ShapeError(
      `${op}: need x [N, d] and y [M, d]${sameDim ? ' with the same d' : ''}, got [${x.shape.join(', ')}] and [${y.shape.join(', ')}]`,
    );
  }
}

/** Default dot-product scale 1/√d. */
export const inverseSqrtDim = (d: number): number => 1 / Math.sqrt(d);

/** s_ij = scale · ⟨x_i, y_j⟩; x [N, d], y [M, d]; scale defaults to 1/√d. */
export function dotCritic(scale?: number): Critic {
  return (x, y) => {
    check2d('dotCritic', x, y, true);
    return mul(matmul(x, y, false, true), scale ?? inverseSqrtDim(x.shape[1]!));
  };
}

/** s_ij = scale · x_i W y_jᵀ; x [N, dx], W [dx, dy] (a parameter the caller owns), y [M, dy]. */
export function bilinearCritic(weight: Tensor, scale = 1): Critic {
  return (x, y) => {
    check2d('bilinearCritic', x, y, false);
    if (weight.rank !== 2 || weight.shape[0] !== x.shape[1] || weight.shape[1] !== y.shape[1]) {
      throw new ShapeError(
        `bilinearCritic: W must be [${x.shape[1]}, ${y.shape[1]}], got [${weight.shape.join(', ')}]`,
      );
    }
    return mul(matmul(matmul(x, weight), y, false, true), scale);
  };
}

/**
 * Separable critic s_ij = scale · ⟨g(x_i), h(y_j)⟩ with caller-supplied projections
 * g: [N, dx] → [N, k] and h: [M, dy] → [M, k] (closures over their own parameters); scale defaults to 1/√k.
 */
export function separableCritic(g: (x: Tensor) => Tensor, h: (y: Tensor) => Tensor, scale?: number): Critic {
  return (x, y) => dotCritic(scale)(g(x), h(y));
}

/** Rows scaled to unit L2 norm: x / √(Σx² + eps) (eps keeps a zero row finite, and its gradient too). */
export function l2Normalize(x: Tensor, eps = 1e-12): Tensor {
  return div(x, sqrt(add(sum(mul(x, x), -1, true), eps)));
}

/** s_ij = cos(x_i, y_j) / τ (SimCLR-style); x [N, d], y [M, d]. */
export function cosineCritic(temperature = 0.1, eps = 1e-12): Critic {
  if (!(temperature > 0)) throw new RangeError(`cosineCritic: temperature must be > 0, got ${temperature}`);
  return (x, y) => {
    check2d('cosineCritic', x, y, true);
    return mul(matmul(l2Normalize(x, eps), l2Normalize(y, eps), false, true), 1 / temperature);
  };
}

/** Scores of paired rows only: s_i = scale · ⟨x_i, y_i⟩; x, y [N, d] → [N] (the diagonal of dotCritic, cheaply). */
export function pairedDot(x: Tensor, y: Tensor, scale?: number): Tensor {
  check2d('pairedDot', x, y, true);
  if (x.shape[0] !== y.shape[0])
    throw new ShapeError(`pairedDot: x [${x.shape.join(', ')}] and y [${y.shape.join(', ')}] need the same N`);
  return mul(sum(mul(x, y), -1), scale ?? inverseSqrtDim(x.shape[1]!));
}
