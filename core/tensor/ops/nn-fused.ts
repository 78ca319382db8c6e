/** Fused primitives along an axis: softmax, log-softmax, layer norm, softmax cross-entropy (forward and backward kernels; VJPs in vjp-rules.ts). */
import { fmt, normalizeAxis, ShapeError } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { backendOf, bind, requireFloat } from './bind.ts';
import { transpose } from './shape-ops.ts';

/** Runs a last-axis kernel along `axis` by swapping it last and back. */
function alongAxis(op: string, x: Tensor, axis: number, last: (t: Tensor) => Tensor): Tensor {
  const ax = normalizeAxis(op, axis, x.rank);
  if (ax === x.rank - 1) return last(x);
  return transpose(last(transpose(x, ax, -1)), ax, -1);
}

/** Numerically stable softmax (max subtracted inside the kernel; the VJP uses only the output). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return alongAxis('softmax', x, axis, (t) => {
    const bk = backendOf('softmax', [t]);
    requireFloat('softmax', t);
    return bind('softmax', [t], null, { id: bk.softmax(t), shape: t.shape, dtype: t.dtype });
  });
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return alongAxis('logSoftmax', x, axis, (t) => {
    const bk = backendOf('logSoftmax', [t]);
    requireFloat('logSoftmax', t);
    return bind('logSoftmax', [t], null, { id: bk.logSoftmax(t), shape: t.shape, dtype: t.dtype });
  });
}

/** LayerNorm over the last axis (biased variance, as torch): x [..., C], weight/bias [C]. */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-12): Tensor {
  const bk = backendOf('layerNorm', [x, weight, bias]);
  requireFloat('layerNorm', x);
  const C = x.shape.at(-1);
  if (C === undefined || weight.rank !== 1 || bias.rank !== 1 || weight.shape[0] !== C || bias.shape[0] !== C) {
    throw new ShapeError(
      `layerNorm: x ${fmt(x.shape)} needs weight and bias [${C ?? '?'}], got ${fmt(weight.shape)} and ${fmt(bias.shape)}`,
    );
  }
  if (weight.dtype !== x.dtype || bias.dtype !== x.dtype)
    throw new TypeError(`layerNorm: dtype mismatch x ${x.dtype}, weight ${weight.dtype}, bias ${bias.dtype}`);
  const r = bk.layerNorm(x, weight, bias, eps);
  const rows = x.shape.slice(0, -1);
  const saved = [new Tensor(bk, r.mean, rows, x.dtype), new Tensor(bk, r.rstd, rows, x.dtype)];
  return bind('layerNorm', [x, weight, bias], { eps }, { id: r.y, shape: x.shape, dtype: x.dtype }, saved);
}

/** dx of layerNorm only, for a frozen weight and bias (not itself differentiable). */
export function layerNormBackwardDx(dy: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor): Tensor {
  const bk = backendOf('layerNormBackwardDx', [dy, x, weight, mean, rstd]);
  return bind('layerNormBackwardDx', [dy, x, weight, mean, rstd], null, {
    id: bk.layerNormBackwardDx(dy, x, weight, mean, rstd),
    shape: x.shape,
    dtype: x.dtype,
  });
}

/** The fused layer-norm backward kernel (not itself differentiable). */
export function layerNormBackward(dy: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor) {
  const bk = backendOf('layerNormBackward', [dy, x, weight, mean, rstd]);
  const r = bk.layerNormBackward(dy, x, weight, mean, rstd);
  const ins = [dy, x, weight, mean, rstd];
  const C = weight.shape;
  return {
    dx: bind('layerNormBackward', ins, null, { id: r.dx, shape: x.shape, dtype: x.dtype }),
    dWeight: bind('layerNormBackward', ins, null, { id: r.dWeight, shape: C, dtype: x.dtype }),
    dBias: bind('layerNormBackward', ins, null, { id: r.dBias, shape: C, dtype: x.dtype }),
  };
}

/**
 * Per-row softmax cross-entropy, logits [N, C] and i32 labels [N] → [N], in one kernel (no one-hot or
 * log-softmax tensor): target (1 − smoothing)·onehot + smoothing/C; rows labelled `ignoreIndex` give 0.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor, ignoreIndex = -100, smoothing = 0): Tensor {
  const bk = backendOf('crossEntropy', [logits, labels]);
  requireFloat('crossEntropy', logits);
  const [N, C] = logits.shape;
  if (logits.rank !== 2 || labels.rank !== 1 || labels.dtype !== 'i32' || labels.shape[0] !== N || C === 0) {
    throw new ShapeError(
      `crossEntropy: needs logits [N, C ≥ 1] and i32 labels [N], got ${fmt(logits.shape)} and ${labels.dtype} ${fmt(labels.shape)}`,
    );
  }
  const r = bk.crossEntropy(logits, labels, ignoreIndex, smoothing);
  const saved = [new Tensor(bk, r.lse, [N!], logits.dtype)];
  return bind(
    'crossEntropy',
    [logits, labels],
    { ignoreIndex, smoothing },
    { id: r.loss, shape: [N!], dtype: logits.dtype },
    saved,
  );
}

/** The fused softmax cross-entropy backward kernel: d logits from the saved log-sum-exp (not itself differentiable). */
export function crossEntropyBackward(
  dy: Tensor,
  logits: Tensor,
  labels: Tensor,
  lse: Tensor,
  ignoreIndex: number,
  smoothing: number,
): Tensor {
  const bk = backendOf('crossEntropyBackward', [dy, logits, labels, lse]);
  const id = bk.crossEntropyBackward(dy, logits, labels, lse, ignoreIndex, smoothing);
  return bind('crossEntropyBackward', [dy, logits, labels, lse], null, {
    id,
    shape: logits.shape,
    dtype: logits.dtype,
  });
}
