/** Batched matmul with transposed-operand variants; the backward needs no explicit transposes. */
import type { MatmulOptions } from '../../backend/backend.ts';
import type { Primitive, VjpThunk } from '../../autograd/tape.ts';
import { broadcastShapes, fmt, ShapeError } from '../shape.ts';
import type { AnyTensor, Tensor } from '../tensor.ts';
import { computeDtype, isFloat } from '../dtype.ts';
import { backendOf, bind } from './bind.ts';
import { sum } from './reduce.ts';

const T = true,
  F = false;

/**
 * C = op(A)·op(B). With Aₛ, Bₛ the stored operands:
 *   NN: dA = dC·Bᵀ  dB = Aᵀ·dC      NT: dA = dC·Bₛ   dBₛ = dCᵀ·A
 *   TN: dAₛ = B·dCᵀ dB = Aₛ·dC      TT: dAₛ = Bₛᵀ·dCᵀ dBₛ = dCᵀ·Aₛᵀ
 * Batch axes that were broadcast are summed by the autograd walker.
 */
const matmulPrim: Primitive<MatmulOptions> = {
  name: 'matmul',
  vjp: (dy, [a, b], _y, { transA, transB }): [VjpThunk, VjpThunk] => {
    if (!transA && !transB) return [() => matmul(dy, b!, F, T), () => matmul(a!, dy, T, F)];
    if (!transA && transB) return [() => matmul(dy, b!, F, F), () => matmul(dy, a!, T, F)];
    if (transA && !transB) return [() => matmul(b!, dy, F, T), () => matmul(a!, dy, F, F)];
    return [() => matmul(b!, dy, T, T), () => matmul(dy, a!, T, T)];
  },
};

/**
 * a [..., M, K] · b [..., K, N] → [..., M, N] (transA reads a as [..., K, M]; transB reads b as [..., N, K]).
 * Either operand may be f16 storage (frozen weights): it is widened to f32, the product is f32.
 */
/** The product's dtype; throws on mismatched, non-float or differentiated f16 operands. */
function productDtype(a: AnyTensor, b: AnyTensor): Tensor['dtype'] {
  const dtype = computeDtype(a.dtype);
  if (dtype !== computeDtype(b.dtype)) throw new TypeError(`matmul: dtype mismatch ${a.dtype} vs ${b.dtype}`);
  if (!isFloat(dtype)) throw new TypeError(`matmul: needs a float tensor, got ${a.dtype} ${fmt(a.shape)}`);
  for (const t of [a, b]) {
    // the VJP would hand an f16 operand an f32 cotangent of another dtype than the tensor it updates
    if (t.dtype === 'f16' && t.activeTrace)
      throw new TypeError(
        `matmul: f16 operand ${fmt(t.shape)} is being differentiated; f16 is frozen storage with no gradient (keep it out of the differentiated arguments)`,
      );
  }
  return dtype;
}

export function matmul(a: AnyTensor, b: AnyTensor, transA = false, transB = false): Tensor {
  const bk = backendOf('matmul', [a, b]);
  const dtype = productDtype(a, b);
  if (a.rank < 2 || b.rank < 2)
    throw new ShapeError(`matmul: operands need rank ≥ 2, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const [M, Ka] = transA ? [a.shape.at(-1)!, a.shape.at(-2)!] : [a.shape.at(-2)!, a.shape.at(-1)!];
  const [Kb, N] = transB ? [b.shape.at(-1)!, b.shape.at(-2)!] : [b.shape.at(-2)!, b.shape.at(-1)!];
  if (Ka !== Kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: ${fmt(a.shape)}${transA ? 'ᵀ' : ''} · ${fmt(b.shape)}${transB ? 'ᵀ' : ''} (K ${Ka} vs ${Kb})`,
    );
  }
  const batch = broadcastShapes('matmul (batch axes)', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, M, N];
  const opts = { transA, transB };
  return bind(matmulPrim, [a, b], opts, { id: bk.matmul(a, b, opts, shape), shape, dtype });
}

const linearPrim: Primitive<null> = {
  name: 'linear',
  // y = x·wᵀ + b: dx = dy·w, dw = dyᵀ·x, db = Σ_rows dy (thunks run only for inputs that want a gradient)
  vjp: (dy, [x, w]): [VjpThunk, VjpThunk, VjpThunk] => [
    () => matmul(dy, w!, F, F),
    () => matmul(dy, x!, T, F),
    () => sum(dy, 0),
  ],
};

/**
 * x [M, K] · wᵀ (w [N, K], may be f16 storage) + bias [N] → [M, N] as one backend call, so a kernel
 * can start from the bias instead of adding it in a second pass over the output (`linear` uses it).
 */
export function matmulBias(x: Tensor, w: AnyTensor, bias: Tensor): Tensor {
  const bk = backendOf('matmulBias', [x, w, bias]);
  if (x.rank !== 2 || w.rank !== 2 || bias.rank !== 1 || x.shape[1] !== w.shape[1] || bias.shape[0] !== w.shape[0]) {
    throw new ShapeError(
      `matmulBias: want x [M, K], w [N, K], bias [N]; got ${fmt(x.shape)}, ${fmt(w.shape)}, ${fmt(bias.shape)}`,
    );
  }
  const dtype = productDtype(x, w);
  if (bias.dtype !== dtype)
    throw new TypeError(`matmulBias: bias ${bias.dtype} ${fmt(bias.shape)} vs product ${dtype}`);
  const shape = [x.shape[0]!, w.shape[0]!];
  const opts = { transA: false, transB: true, bias };
  return bind(linearPrim, [x, w, bias], null, { id: bk.matmul(x, w, opts, shape), shape, dtype });
}
