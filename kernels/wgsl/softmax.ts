/**
 * Softmax and log-softmax along the last axis: one workgroup per row, max-subtracted (stable), the
 * max and the sum each a shared-memory tree. A fully masked row (max = −∞) uses 0 as its shift, as
 * the CPU does.
 *
 * Answers to core/backend/cpu/nn.ts softmaxRef (log = false / true).
 */
import { grid, ParamWriter, paramsWgsl, rowKernelMain, treeReduce, type Program, type Tol } from './common.ts';

export const REFERENCE = 'core/backend/cpu/nn.ts: softmaxRef';
export const TOL: Tol = { atol: 1e-6, rtol: 2e-5 };

export const WG = 128;

export const ROW_HELPERS = `
fn is_nan(x: f32) -> bool { let u = bitcast<u32>(x); return (u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu) != 0u; }
fn max_nan(a: f32, b: f32) -> f32 { if (is_nan(a) || is_nan(b)) { return nan_f32(); } return max(a, b); }`;

/**
 * One workgroup's pass over row `x[base .. base + C)` (shared `buf` of WG floats): leaves `m`, the stable
 * shift (the row max; 0 for a fully masked row, as the CPU), and `s` = Σ exp(x − m). Ends with a barrier,
 * so `buf` is free again.
 */
export const ROW_MAX_EXPSUM = `var m = -inf_f32();
  for (var j = lix; j < C; j += ${WG}u) { m = max_nan(m, x[base + j]); }
  buf[lix] = m;
  ${treeReduce('buf', WG, (a, b) => `max_nan(${a}, ${b})`)}
  m = buf[0];
  m = select(m, 0.0, m == -inf_f32());
  workgroupBarrier();
  var s = 0.0;
  for (var j = lix; j < C; j += ${WG}u) { s += exp(x[base + j] - m); }
  buf[lix] = s;
  ${treeReduce('buf', WG, (a, b) => `${a} + ${b}`)}
  s = buf[0];
  workgroupBarrier();`;

export function softmaxProgram(rows: number, cols: number, log: boolean): Program {
  const key = `softmax/${log ? 'log' : 'exp'}/wg${WG}`;
  const wgsl = () => `// ${key}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${paramsWgsl(2)}
${ROW_HELPERS}
${rowKernelMain(
  WG,
  `${ROW_MAX_EXPSUM}
  ${
    log
      ? 'let ls = log(s) + m;\n  for (var j = lix; j < C; j += ' + WG + 'u) { out[base + j] = x[base + j] - ls; }'
      : 'for (var j = lix; j < C; j += ' + WG + 'u) { out[base + j] = exp(x[base + j] - m) / s; }'
  }`,
)}`;
  return {
    name: log ? 'logSoftmax' : 'softmax',
    key,
    wgsl,
    params: new ParamWriter().u(rows, cols).done(),
    workgroups: grid(rows),
  };
}
