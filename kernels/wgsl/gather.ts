/**
 * Row gather (and takeRows: index −1 gives a zero row), its inverse scatter-add, and one-hot. scatterAdd is deterministic: each output
 * element loops over all indices in order (work numRows·row·nIdx — cheap for prompt tables and
 * label sets, the sizes that get gradients in prompt tuning; no float atomics, no run-to-run jitter).
 *
 * Answers to core/backend/cpu/movement.ts gatherRef / scatterAddRef / oneHotRef. The CPU throws on an
 * out-of-range index; a kernel cannot, so a float gather yields a NaN row (a bad token id then shows up
 * as a NaN loss, which the training loop's NaN guard stops on, instead of a silent zero embedding); an
 * i32 gather yields 0 and scatterAdd drops the update (known gaps). oneHot's ignore-index semantics match
 * the CPU exactly.
 */
import type { DType } from '../../core/tensor/dtype.ts';
import { elementKernelMain, grid, ParamWriter, paramsWgsl, wgslType, type Program, type Tol } from './common.ts';

export const REFERENCE = 'core/backend/cpu/movement.ts: gatherRef, scatterAddRef, oneHotRef';
/** gather/oneHot are exact; scatterAdd sums in f32 where the CPU sums in f64. */
export const TOL: Tol = { atol: 1e-6, rtol: 1e-5 };

const WG = 256;

const kernel = (key: string, decls: string, body: string): string => `// ${key}
${decls}
${elementKernelMain(WG, body)}`;

/** table [rows, row...] gathered by nIdx indices → [nIdx, row...]; `zeroRows` (takeRows): index −1 gives a zero row. */
export function gatherProgram(dtype: DType, rows: number, row: number, nIdx: number, zeroRows = false): Program {
  const t = wgslType(dtype);
  const key = `gather/${dtype}${zeroRows ? '/zero-rows' : ''}`;
  const n = nIdx * row;
  const wgsl = () =>
    kernel(
      key,
      `@group(0) @binding(0) var<storage, read> table: array<${t}>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<${t}>;
${paramsWgsl(3)}`,
      `let row = pu(1u);
  let r = idx[i / row];${
    zeroRows
      ? `
  if (r == -1) { out[i] = ${t}(0); return; }`
      : ''
  }
  if (r < 0 || u32(r) >= pu(2u)) { out[i] = ${t === 'f32' ? 'nan_f32()' : 'i32(0)'}; return; }
  out[i] = table[u32(r) * row + i % row];`,
    );
  return {
    name: 'gather',
    key,
    wgsl,
    params: new ParamWriter().u(n, row, rows).done(),
    workgroups: grid(Math.ceil(n / WG)),
  };
}

/** out [numRows, row] = Σ over i with idx[i] = r of updates[i]. */
export function scatterAddProgram(dtype: DType, numRows: number, row: number, nIdx: number): Program {
  const t = wgslType(dtype);
  const key = `scatterAdd/${dtype}`;
  const n = numRows * row;
  const wgsl = () =>
    kernel(
      key,
      `@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read> updates: array<${t}>;
@group(0) @binding(2) var<storage, read_write> out: array<${t}>;
${paramsWgsl(3)}`,
      `let row = pu(1u);
  let r = i32(i / row);
  let j = i % row;
  var acc = ${t}(0);
  for (var k = 0u; k < pu(2u); k++) {
    if (idx[k] == r) { acc += updates[k * row + j]; }
  }
  out[i] = acc;`,
    );
  return {
    name: 'scatterAdd',
    key,
    wgsl,
    params: new ParamWriter().u(n, row, nIdx).done(),
    workgroups: grid(Math.ceil(n / WG)),
  };
}

export function oneHotProgram(dtype: DType, nIdx: number, depth: number): Program {
  const t = wgslType(dtype);
  const key = `oneHot/${dtype}`;
  const n = nIdx * depth;
  const wgsl = () =>
    kernel(
      key,
      `@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
${paramsWgsl(2)}`,
      `let depth = pu(1u);
  out[i] = select(${t}(0), ${t}(1), idx[i / depth] == i32(i % depth));`,
    );
  return {
    name: 'oneHot',
    key,
    wgsl,
    params: new ParamWriter().u(n, depth).done(),
    workgroups: grid(Math.ceil(n / WG)),
  };
}
