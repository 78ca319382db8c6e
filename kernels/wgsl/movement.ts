/**
 * Data movement: strided views (permute / expand / slice through the map template), pad, and concat
 * (one block-copy dispatch per input into the shared output).
 *
 * Answers to core/backend/cpu/movement.ts stridedRef / padRef / concatRef; exact (tolerance 0).
 */
import type { DType } from '../../core/tensor/dtype.ts';
import {
  elementKernelMain,
  grid,
  MAX_DIMS,
  ParamWriter,
  paramsWgsl,
  wgslType,
  type Program,
  type Tol,
} from './common.ts';
import { mapProgram } from './elementwise.ts';

export const REFERENCE = 'core/backend/cpu/movement.ts: stridedRef, padRef, concatRef';
export const TOL: Tol = { atol: 0, rtol: 0 };

const WG = 256;

/** out[i] = x[offset + Σ idx_k·strides[k]] over outShape. */
export function stridedProgram(
  dtype: DType,
  outShape: readonly number[],
  strides: readonly number[],
  offset: number,
): Program {
  return mapProgram('strided', 'x0', [{ dtype, shape: outShape, strides, offset }], outShape, dtype);
}

// Params: n, rank, outShape[8], inShape[8], before[8], value bits
export function padProgram(
  dtype: DType,
  shape: readonly number[],
  before: readonly number[],
  after: readonly number[],
  value: number,
): Program {
  if (shape.length > MAX_DIMS) throw new RangeError(`pad: rank ${shape.length} exceeds ${MAX_DIMS}`);
  const outShape = shape.map((d, i) => d + before[i]! + after[i]!);
  const n = outShape.reduce((a, b) => a * b, 1);
  const t = wgslType(dtype);
  const key = `pad/${dtype}`;
  const params = new ParamWriter()
    .u(n, shape.length)
    .fixed(outShape, MAX_DIMS, 1)
    .fixed(shape, MAX_DIMS, 1)
    .fixed(before, MAX_DIMS)
    .value(value, dtype)
    .done();
  const wgsl = () => `// ${key}
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
${paramsWgsl(2)}
${elementKernelMain(
  WG,
  `var rem = i; var off = 0u; var stride = 1u; var inside = true;
  for (var d = pu(1u); d > 0u; d--) {
    let ax = d - 1u;
    let o = rem % pu(2u + ax);
    rem = rem / pu(2u + ax);
    let b = pu(${2 + 2 * MAX_DIMS}u + ax);
    let s = pu(${2 + MAX_DIMS}u + ax);
    // o - b wraps below zero, so one unsigned compare checks both ends
    inside = inside && (o - b) < s;
    off += (o - b) * stride;
    stride *= s;
  }
  let fill_value = bitcast<${t}>(pu(${2 + 3 * MAX_DIMS}u));
  if (inside) { out[i] = x[off]; } else { out[i] = fill_value; }`,
)}`;
  return { name: 'pad', key, wgsl, params, workgroups: grid(Math.ceil(n / WG)) };
}

/** Copies x viewed as [outer, chunk] into out rows of length outRow at column `pos`. */
export function concatPartProgram(dtype: DType, outer: number, chunk: number, outRow: number, pos: number): Program {
  const n = outer * chunk;
  const t = wgslType(dtype);
  const key = `concat/${dtype}`;
  const wgsl = () => `// ${key}
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
${paramsWgsl(2)}
${elementKernelMain(
  WG,
  `let chunk = pu(1u);
  out[(i / chunk) * pu(2u) + pu(3u) + i % chunk] = x[i];`,
)}`;
  return {
    name: 'concat',
    key,
    wgsl,
    params: new ParamWriter().u(n, chunk, outRow, pos).done(),
    workgroups: grid(Math.ceil(n / WG)),
  };
}
