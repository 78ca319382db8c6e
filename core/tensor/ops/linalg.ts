/** Batched matmul with transposed-operand variants (its VJP, in vjp-rules.ts, needs no explicit transposes). */
import { broadcastShapes, fmt, ShapeError } from '../shape.ts';
import type { AnyTensor, Tensor } from '../tensor.ts';
import { computeDtype, isFloat } from '../dtype.ts';
import { backendOf, bind } from './bind.ts';

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

/**
 * a [..., M, K] · b [..., K, N] → [..., M, N] (transA reads a as [..., K, M]; transB reads b as [..., N, K]).
 * Either operand may be f16 storage (frozen weights): it is widened to f32, the product is f32.
 */
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
  return bind('matmul', [a, b], opts, { id: bk.matmul(a, b, opts, shape), shape, dtype });
}

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
  return bind('matmulBias', [x, w, bias], null, { id: bk.matmul(x, w, opts, shape), shape, dtype });
}
