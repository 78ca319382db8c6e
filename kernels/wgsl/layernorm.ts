/**
 * LayerNorm over the last axis. Forward: one workgroup per row, two-pass mean / biased variance
 * (as torch and the CPU), writing y, mean and rstd. Backward (llm.c layernorm_backward):
 * pass 1, one workgroup per row: dx = rstd·(dŷ − mean(dŷ) − x̂·mean(dŷ·x̂)), dŷ = dy·w;
 * pass 2, one thread per column: dWeight = Σ_rows dy·x̂ and dBias = Σ_rows dy (deterministic order).
 *
 * Answers to core/backend/cpu/nn.ts layerNormRef / layerNormBackwardRef.
 */
import {
  grid,
  LINEAR_WG,
  ParamWriter,
  rowKernelMain,
  storageBindings,
  treeReduce,
  WG_BUILTINS,
  type Program,
  type Tol,
} from './common.ts';

export const REFERENCE = 'core/backend/cpu/nn.ts: layerNormRef, layerNormBackwardRef';
export const TOL: Tol = { atol: 2e-5, rtol: 1e-4 };

const WG = 128;

export function layerNormProgram(rows: number, cols: number, eps: number): Program {
  const key = `layerNorm/fwd/wg${WG}`;
  const wgsl = () => `// ${key}
${storageBindings([
  ['x', 'f32', 'read'],
  ['w', 'f32', 'read'],
  ['b', 'f32', 'read'],
  ['y', 'f32', 'rw'],
  ['mean_out', 'f32', 'rw'],
  ['rstd_out', 'f32', 'rw'],
])}
${rowKernelMain(
  WG,
  `var s = 0.0;
  for (var j = lix; j < C; j += ${WG}u) { s += x[base + j]; }
  buf[lix] = s;
  ${treeReduce('buf', WG, (a, c) => `${a} + ${c}`)}
  let m = buf[0] / f32(C);
  workgroupBarrier();
  var v = 0.0;
  for (var j = lix; j < C; j += ${WG}u) { let d = x[base + j] - m; v += d * d; }
  buf[lix] = v;
  ${treeReduce('buf', WG, (a, c) => `${a} + ${c}`)}
  let rs = 1.0 / sqrt(buf[0] / f32(C) + pf(2u));
  for (var j = lix; j < C; j += ${WG}u) { y[base + j] = (x[base + j] - m) * rs * w[j] + b[j]; }
  if (lix == 0u) { mean_out[row] = m; rstd_out[row] = rs; }`,
)}`;
  return {
    name: 'layerNorm',
    key,
    wgsl,
    params: new ParamWriter().u(rows, cols).f(eps).done(),
    workgroups: grid(rows),
  };
}

/** Pass 1: dx per row. Inputs dy, x, w, mean, rstd; output dx. */
export function layerNormDxProgram(rows: number, cols: number): Program {
  const key = `layerNorm/dx/wg${WG}`;
  const wgsl = () => `// ${key}
${storageBindings([
  ['dy', 'f32', 'read'],
  ['x', 'f32', 'read'],
  ['w', 'f32', 'read'],
  ['mean_in', 'f32', 'read'],
  ['rstd_in', 'f32', 'read'],
  ['dx', 'f32', 'rw'],
])}
${rowKernelMain(
  WG,
  `let m = mean_in[row]; let rs = rstd_in[row];
  var acc = vec2<f32>(0.0, 0.0);
  for (var j = lix; j < C; j += ${WG}u) {
    let dyh = dy[base + j] * w[j];
    acc += vec2<f32>(dyh, dyh * (x[base + j] - m) * rs);
  }
  buf[lix] = acc;
  ${treeReduce('buf', WG, (a, c) => `${a} + ${c}`)}
  let sums = buf[0] / f32(C);
  for (var j = lix; j < C; j += ${WG}u) {
    let xh = (x[base + j] - m) * rs;
    dx[base + j] = rs * (dy[base + j] * w[j] - sums.x - xh * sums.y);
  }`,
  'vec2<f32>',
)}`;
  return {
    name: 'layerNormBackward(dx)',
    key,
    wgsl,
    params: new ParamWriter().u(rows, cols).done(),
    workgroups: grid(rows),
  };
}

/** Pass 2: column sums. Inputs dy, x, mean, rstd; outputs dWeight, dBias. */
export function layerNormDwProgram(rows: number, cols: number): Program {
  const key = 'layerNorm/dw';
  const wgsl = () => `// ${key}
${storageBindings([
  ['dy', 'f32', 'read'],
  ['x', 'f32', 'read'],
  ['mean_in', 'f32', 'read'],
  ['rstd_in', 'f32', 'read'],
  ['dw', 'f32', 'rw'],
  ['db', 'f32', 'rw'],
])}
@compute @workgroup_size(64)
fn main(${WG_BUILTINS}) {
  let j = (${LINEAR_WG}) * 64u + lix;
  let R = pu(0u); let C = pu(1u);
  if (j >= C) { return; }
  var sw = 0.0; var sb = 0.0;
  for (var r = 0u; r < R; r++) {
    let g = dy[r * C + j];
    sw += g * (x[r * C + j] - mean_in[r]) * rstd_in[r];
    sb += g;
  }
  dw[j] = sw; db[j] = sb;
}`;
  return {
    name: 'layerNormBackward(dw)',
    key,
    wgsl,
    params: new ParamWriter().u(rows, cols).done(),
    workgroups: grid(Math.ceil(cols / 64)),
  };
}
