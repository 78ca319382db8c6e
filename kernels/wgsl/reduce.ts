/**
 * sum / max / min over any set of axes, and argmax. The reduced axes are walked last through
 * strides (no transpose is materialised). Two variants: 'serial' (one thread per output, for short
 * reductions such as un-broadcasting a bias gradient) and 'tree' (one workgroup per output, strided
 * partials then a shared-memory tree). max/min propagate NaN as the CPU does.
 *
 * Answers to core/backend/cpu/reduce.ts reduceRef / argmaxRef. The CPU sums in f64; here f32
 * partial sums, hence rtol 1e-5 with an atol for cancellation.
 */
import type { ReduceOp } from '../../core/backend/backend.ts';
import type { DType } from '../../core/tensor/dtype.ts';
import {
  collapse,
  contiguousStrides,
  grid,
  LINEAR_WG,
  MAX_DIMS,
  ParamWriter,
  paramsWgsl,
  treeReduce,
  WG_BUILTINS,
  wgslType,
  type Program,
  type Tol,
} from './common.ts';

export const REFERENCE = 'core/backend/cpu/reduce.ts: reduceRef, argmaxRef';
export const TOL: Tol = { atol: 1e-5, rtol: 1e-5 };

const TREE_WG = 128;
const SERIAL_WG = 64;
/** Below this many elements per output a thread reduces alone. */
const SERIAL_MAX = 256;

const IS_NAN =
  'fn is_nan(x: f32) -> bool { let u = bitcast<u32>(x); return (u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu) != 0u; }';

function combine(op: ReduceOp, t: 'f32' | 'i32'): { init: string; fn: string } {
  const inf = 'inf_f32()';
  if (op === 'sum') return { init: `${t}(0)`, fn: `fn combine(a: ${t}, b: ${t}) -> ${t} { return a + b; }` };
  const cmp = op === 'max' ? '>' : '<';
  if (t === 'i32')
    return {
      init: op === 'max' ? '(-2147483647i - 1i)' : '2147483647i',
      fn: `fn combine(a: i32, b: i32) -> i32 { return ${op}(a, b); }`,
    };
  return {
    init: op === 'max' ? `-${inf}` : inf,
    fn: `${IS_NAN}\nfn combine(a: f32, b: f32) -> f32 { if (is_nan(a) || is_nan(b)) { return nan_f32(); } return select(b, a, a ${cmp} b); }`,
  };
}

// Params: outN, redN, keptRank, redRank, keptShape[8], keptStrides[8], redShape[8], redStrides[8]
const OFFSET_FNS = `
fn walk(i: u32, rank: u32, shape_at: u32, stride_at: u32) -> u32 {
  var rem = i; var off = 0u;
  for (var d = rank; d > 0u; d--) {
    let ax = d - 1u;
    let s = pu(shape_at + ax);
    off += (rem % s) * pu(stride_at + ax);
    rem = rem / s;
  }
  return off;
}
fn kept_off(o: u32) -> u32 { return walk(o, pu(2u), 4u, ${4 + MAX_DIMS}u); }
fn red_off(j: u32) -> u32 { return walk(j, pu(3u), ${4 + 2 * MAX_DIMS}u, ${4 + 3 * MAX_DIMS}u); }`;

function source(key: string, op: ReduceOp, dtype: DType, tree: boolean): string {
  const t = wgslType(dtype);
  const c = combine(op, t);
  const head = `// ${key}
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
${paramsWgsl(2)}
${c.fn}
${OFFSET_FNS}`;
  if (!tree) {
    return `${head}
@compute @workgroup_size(${SERIAL_WG})
fn main(${WG_BUILTINS}) {
  let o = (${LINEAR_WG}) * ${SERIAL_WG}u + lix;
  if (o >= pu(0u)) { return; }
  let base = kept_off(o);
  var acc = ${c.init};
  for (var j = 0u; j < pu(1u); j++) { acc = combine(acc, x[base + red_off(j)]); }
  out[o] = acc;
}`;
  }
  return `${head}
var<workgroup> buf: array<${t}, ${TREE_WG}>;
@compute @workgroup_size(${TREE_WG})
fn main(${WG_BUILTINS}) {
  let o = ${LINEAR_WG};
  if (o >= pu(0u)) { return; }
  let base = kept_off(o);
  var acc = ${c.init};
  for (var j = lix; j < pu(1u); j += ${TREE_WG}u) { acc = combine(acc, x[base + red_off(j)]); }
  buf[lix] = acc;
  ${treeReduce('buf', TREE_WG, (a, b) => `combine(${a}, ${b})`)}
  if (lix == 0u) { out[o] = buf[0]; }
}`;
}

/** x of `shape` reduced over sorted unique `axes` (non-empty, every reduced size > 0). */
export function reduceProgram(op: ReduceOp, dtype: DType, shape: readonly number[], axes: readonly number[]): Program {
  const st = contiguousStrides(shape);
  const keptAxes = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const kept = collapse(
    keptAxes.map((i) => shape[i]!),
    [keptAxes.map((i) => st[i]!)],
  );
  const red = collapse(
    axes.map((i) => shape[i]!),
    [axes.map((i) => st[i]!)],
  );
  const outN = kept.shape.reduce((a, b) => a * b, 1);
  const redN = red.shape.reduce((a, b) => a * b, 1);
  const tree = redN > SERIAL_MAX;
  const key = `reduce/${op}/${dtype}/${tree ? 'tree' : 'serial'}`;
  const params = new ParamWriter()
    .u(outN, redN, kept.shape.length, red.shape.length)
    .fixed(kept.shape, MAX_DIMS, 1)
    .fixed(kept.strides[0]!, MAX_DIMS)
    .fixed(red.shape, MAX_DIMS, 1)
    .fixed(red.strides[0]!, MAX_DIMS)
    .done();
  return {
    name: `reduce ${op}`,
    key,
    wgsl: () => source(key, op, dtype, tree),
    params,
    workgroups: grid(tree ? outN : Math.ceil(outN / SERIAL_WG)),
  };
}

/** Index of the first maximum along `axis` (NaN never wins, as the CPU's `v > best`). */
export function argmaxProgram(dtype: DType, shape: readonly number[], axis: number): Program {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const n = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const t = wgslType(dtype);
  const key = `argmax/${dtype}`;
  const wgsl = () => `// ${key}
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
${paramsWgsl(2)}
@compute @workgroup_size(${SERIAL_WG})
fn main(${WG_BUILTINS}) {
  let o = (${LINEAR_WG}) * ${SERIAL_WG}u + lix;
  let n = pu(1u); let inner = pu(2u);
  if (o >= pu(0u)) { return; }
  let base = (o / inner) * n * inner + o % inner;
  var best = ${t === 'f32' ? '-inf_f32()' : '(-2147483647i - 1i)'};
  var arg = 0i;
  for (var k = 0u; k < n; k++) {
    let v = x[base + k * inner];
    if (v > best) { best = v; arg = i32(k); }
  }
  out[o] = arg;
}`;
  return {
    name: 'argmax',
    key,
    wgsl,
    params: new ParamWriter().u(outer * inner, n, inner).done(),
    workgroups: grid(Math.ceil((outer * inner) / SERIAL_WG)),
  };
}
