/**
 * Fused softmax cross-entropy along the last axis, logits [N, C] and i32 labels [N]:
 *  - forward: one workgroup per row; max, Σ exp and (for label smoothing) Σ x are shared-memory trees.
 *    loss[n] = lse − (1 − ε)·x[label] − (ε/C)·Σ_c x_c, with lse = m + log Σ exp(x − m); 0 where the label
 *    is ignore_index. lse is returned for the backward.
 *  - backward: one thread per element, d x[n, c] = dy[n]·(exp(x − lse) − (1 − ε)·[c = label] − ε/C).
 * No [N, C] one-hot or log-softmax is written, which is the point for a large C (an MLM vocabulary).
 * A label outside [0, C) that is not ignore_index gives NaN (the CPU reference throws; a GPU kernel
 * cannot, and NaN is what the loop's NaN guard stops on).
 *
 * Answers to core/backend/cpu/nn.ts crossEntropyRef / crossEntropyBackwardRef.
 */
import {
  elementKernelMain,
  grid,
  ParamWriter,
  rowKernelMain,
  storageBindings,
  treeReduce,
  type Program,
  type Tol,
} from './common.ts';
import { ROW_HELPERS, ROW_MAX_EXPSUM, WG } from './softmax.ts';

export const REFERENCE = 'core/backend/cpu/nn.ts: crossEntropyRef, crossEntropyBackwardRef';
/** Loss is lse − a picked logit: the error is the f32 log/exp and the row sums (as softmax). */
export const TOL: Tol = { atol: 2e-6, rtol: 2e-5 };

export function crossEntropyProgram(rows: number, cols: number, ignoreIndex: number, smoothing: number): Program {
  const key = `crossEntropy/wg${WG}`;
  const wgsl = () => `// ${key}
${storageBindings([
  ['x', 'f32', 'read'],
  ['labels', 'i32', 'read'],
  ['loss', 'f32', 'rw'],
  ['lse', 'f32', 'rw'],
])}
${ROW_HELPERS}
${rowKernelMain(
  WG,
  `let ignore = pi(2u);
  let eps = pf(3u);
  ${ROW_MAX_EXPSUM}
  let l = log(s) + m;
  var sx = 0.0;
  for (var j = lix; j < C; j += ${WG}u) { sx += x[base + j]; }
  buf[lix] = sx;
  ${treeReduce('buf', WG, (a, b) => `${a} + ${b}`)}
  if (lix == 0u) {
    lse[row] = l;
    let y = labels[row];
    if (y == ignore) { loss[row] = 0.0; }
    else if (y < 0 || u32(y) >= C) { loss[row] = nan_f32(); }
    else { loss[row] = l - (1.0 - eps) * x[base + u32(y)] - eps / f32(C) * buf[0]; }
  }`,
)}`;
  return {
    name: 'crossEntropy',
    key,
    wgsl,
    params: new ParamWriter()
      .u(rows, cols, ignoreIndex | 0)
      .f(smoothing)
      .done(),
    workgroups: grid(rows),
  };
}

export function crossEntropyBackwardProgram(
  rows: number,
  cols: number,
  ignoreIndex: number,
  smoothing: number,
): Program {
  const key = 'crossEntropyBackward';
  const wgsl = () => `// ${key}
${storageBindings([
  ['dy', 'f32', 'read'],
  ['x', 'f32', 'read'],
  ['labels', 'i32', 'read'],
  ['lse', 'f32', 'read'],
  ['dx', 'f32', 'rw'],
])}
${elementKernelMain(
  WG,
  `let C = pu(1u);
  let row = i / C;
  let c = i % C;
  let y = labels[row];
  if (y == pi(2u)) { dx[i] = 0.0; return; }
  let eps = pf(3u);
  let want = select(0.0, 1.0 - eps, i32(c) == y) + eps / f32(C);
  dx[i] = dy[row] * (exp(x[i] - lse[row]) - want);`,
)}`;
  return {
    name: 'crossEntropyBackward',
    key,
    wgsl,
    params: new ParamWriter()
      .u(rows * cols, cols, ignoreIndex | 0)
      .f(smoothing)
      .done(),
    workgroups: grid(Math.ceil((rows * cols) / WG)),
  };
}
