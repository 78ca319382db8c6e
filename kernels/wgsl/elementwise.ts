/**
 * Unary, broadcasting binary, compare, where, cast, fill and strided copy: ONE map template.
 * Each op is a WGSL expression over x0..x2 (an op → expression table); each input is read through
 * strides (0 on broadcast axes) after `collapse`, so only the expression and the per-input access
 * mode ('c' contiguous, 's' scalar, 'g' general strided) reach the cache key.
 *
 * Answers to core/backend/cpu/elementwise.ts (unaryFn, binaryFn, compareFn, binaryRef, whereRef) and
 * tensor/dtype.ts convertArray for cast. Known gaps: f32→i32 cast saturates to 0 outside i32 range
 * (CPU wraps); pow of a negative base by a non-integer gives NaN on both.
 */
import type { BinaryOp, CompareOp, UnaryOp } from '../../core/backend/backend.ts';
import type { DType } from '../../core/tensor/dtype.ts';
import {
  collapse,
  elementKernelMain,
  grid,
  MAX_DIMS,
  ParamWriter,
  paramsWgsl,
  wgslType,
  type Program,
  type Tol,
} from './common.ts';

export const REFERENCE = 'core/backend/cpu/elementwise.ts: unaryRef/binaryRef/whereRef';
/** erf is A&S 7.1.26 (|err| ≤ 1.5e-7), so transcendental ops get atol 2e-6. */
export const TOL: Tol = { atol: 2e-6, rtol: 2e-5 };

const WG = 256;

/** f32 helpers the expressions use. WGSL has no erf, log1p or NaN-safe max; NaN is tested by bits. */
const F32_HELPERS = `
fn is_nan(x: f32) -> bool { let u = bitcast<u32>(x); return (u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu) != 0u; }
// Abramowitz-Stegun 7.1.26, the same formula as the CPU's f32 erf32
fn erf_f32(x: f32) -> f32 {
  let ax = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * ax);
  let y = 1.0 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-ax * ax);
  return select(y, -y, x < 0.0);
}
fn gelu_f32(x: f32) -> f32 { return 0.5 * x * (1.0 + erf_f32(x * 0.7071067811865476)); }
fn gelu_grad_f32(x: f32) -> f32 {
  return 0.5 * (1.0 + erf_f32(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * x * x);
}
// exp form overflows nowhere: e = exp(-2|x|) ∈ (0, 1]
fn tanh_f32(x: f32) -> f32 { let e = exp(-2.0 * abs(x)); let t = (1.0 - e) / (1.0 + e); return select(t, -t, x < 0.0); }
fn sigmoid_f32(x: f32) -> f32 { if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); } let e = exp(x); return e / (1.0 + e); }
// Goldberg's trick: exact for tiny x, where log(1 + x) would round 1 + x away
fn log1p_f32(x: f32) -> f32 { let u = 1.0 + x; if (u == 1.0 || u == inf_f32()) { return select(x, u, u == inf_f32()); } return log(u) * x / (u - 1.0); }
fn pow_f32(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  let ab = abs(a);
  var r = select(pow(ab, b), select(0.0, inf_f32(), b < 0.0), ab == 0.0);
  if (a < 0.0) {
    if (floor(b) != b) { return nan_f32(); }
    if (b - 2.0 * floor(b * 0.5) != 0.0) { r = -r; }
  }
  return r;
}
fn max_f32(a: f32, b: f32) -> f32 { if (is_nan(a) || is_nan(b)) { return nan_f32(); } return select(b, a, a > b); }
fn min_f32(a: f32, b: f32) -> f32 { if (is_nan(a) || is_nan(b)) { return nan_f32(); } return select(b, a, a < b); }
fn f32_to_i32(x: f32) -> i32 { if (is_nan(x) || abs(x) >= 2147483648.0) { return 0i; } return i32(x); }
fn pow_i32(a: i32, b: i32) -> i32 {
  if (b < 0) { return select(select(0i, 1i, a == 1), select(1i, -1i, (b & 1) != 0), a == -1); }
  var r = 1i; var base = a; var e = b;
  loop { if (e == 0) { break; } if ((e & 1) != 0) { r = r * base; } base = base * base; e = e >> 1u; }
  return r;
}
`;

type Expr = (t: 'f32' | 'i32') => string;
const F =
  (e: string): Expr =>
  () =>
    e;

/** x is x0. `T(v)` literals are spelled per type. */
const UNARY: Record<UnaryOp, Expr> = {
  neg: F('-x0'),
  exp: F('exp(x0)'),
  log: F('log(x0)'),
  sqrt: F('sqrt(x0)'),
  rsqrt: F('1.0 / sqrt(x0)'),
  abs: F('abs(x0)'),
  sign: (t) => `select(select(${t}(0), ${t}(-1), x0 < ${t}(0)), ${t}(1), x0 > ${t}(0))`,
  tanh: F('tanh_f32(x0)'),
  sigmoid: F('sigmoid_f32(x0)'),
  relu: (t) => `select(${t}(0), x0, x0 > ${t}(0))`,
  step: (t) => `select(${t}(0), ${t}(1), x0 > ${t}(0))`,
  erf: F('erf_f32(x0)'),
  gelu: F('gelu_f32(x0)'),
  geluGrad: F('gelu_grad_f32(x0)'),
  recip: F('1.0 / x0'),
  square: F('x0 * x0'),
  log1p: F('log1p_f32(x0)'),
  sin: F('sin(x0)'),
  cos: F('cos(x0)'),
};

const BINARY: Record<BinaryOp, Expr> = {
  add: F('x0 + x1'),
  sub: F('x0 - x1'),
  mul: F('x0 * x1'),
  div: (t) => (t === 'i32' ? 'select(x0 / x1, 0i, x1 == 0i)' : 'x0 / x1'),
  pow: (t) => `pow_${t}(x0, x1)`,
  max: (t) => (t === 'i32' ? 'max(x0, x1)' : 'max_f32(x0, x1)'),
  min: (t) => (t === 'i32' ? 'min(x0, x1)' : 'min_f32(x0, x1)'),
};

// `!(a == b)` rather than `a != b`: true for NaN whether or not the compiler orders `!=`
const COMPARE: Record<CompareOp, string> = {
  eq: 'x0 == x1',
  ne: '!(x0 == x1)',
  lt: 'x0 < x1',
  le: 'x0 <= x1',
  gt: 'x0 > x1',
  ge: 'x0 >= x1',
};

export interface MapInput {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** Params layout: n, rank, shape[8], offset[3], strides[3][8], then op scalars from word EXTRA. */
export const EXTRA = 2 + MAX_DIMS + 3 + 3 * MAX_DIMS;

type Mode = 'c' | 's' | 'g';

function mapSource(name: string, ins: readonly DType[], modes: readonly Mode[], out: DType, expr: string): string {
  const decl = ins
    .map((d, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<${wgslType(d)}>;`)
    .join('\n');
  const offs = ins.map((_, k) => `var o${k} = pu(${2 + MAX_DIMS + k}u);`).join(' ');
  const walk = ins
    .map((_, k) => (modes[k] === 'g' ? `o${k} += idx * pu(${2 + MAX_DIMS + 3 + k * MAX_DIMS}u + ax);` : ''))
    .join(' ');
  const loads = ins.map((_, k) => `let x${k} = in${k}[${modes[k] === 'c' ? `o${k} + i` : `o${k}`}];`).join(' ');
  return `// ${name}
${decl}
@group(0) @binding(${ins.length}) var<storage, read_write> out: array<${wgslType(out)}>;
${paramsWgsl(ins.length + 1)}
${F32_HELPERS}
${elementKernelMain(
  WG,
  `${offs}
  ${
    modes.includes('g')
      ? `var rem = i;
  for (var d = pu(1u); d > 0u; d--) {
    let ax = d - 1u;
    let size = pu(2u + ax);
    let idx = rem % size;
    rem = rem / size;
    ${walk}
  }`
      : ''
  }
  ${loads}
  out[i] = ${expr};`,
)}`;
}

/**
 * The generic map: `out[i] = expr(x0[...], x1[...], x2[...])` over `outShape` (contiguous output).
 * `extra` words land at Params[EXTRA..].
 */
export function mapProgram(
  op: string,
  expr: string,
  inputs: readonly MapInput[],
  outShape: readonly number[],
  outDtype: DType,
  extra: readonly number[] = [],
): Program {
  const n = outShape.reduce((a, b) => a * b, 1);
  const c = collapse(
    outShape,
    inputs.map((x) => x.strides),
  );
  if (c.shape.length > MAX_DIMS)
    throw new RangeError(`${op}: rank ${c.shape.length} after collapsing exceeds ${MAX_DIMS}`);
  const modes: Mode[] = c.strides.map((s) =>
    s.every((v) => v === 0) ? 's' : s.length === 1 && s[0] === 1 ? 'c' : 'g',
  );
  const p = new ParamWriter()
    .u(n, c.shape.length)
    .fixed(c.shape, MAX_DIMS, 1)
    .fixed(
      inputs.map((x) => x.offset),
      3,
    );
  for (let k = 0; k < 3; k++) p.fixed(c.strides[k] ?? [], MAX_DIMS);
  p.u(...extra);
  const dts = inputs.map((x) => x.dtype);
  const key = `map/${op}/${dts.join(',')}>${outDtype}/${modes.join('')}`;
  return {
    name: op,
    key,
    wgsl: () => mapSource(key, dts, modes, outDtype, expr),
    workgroups: grid(Math.ceil(n / WG)),
    params: p.done(),
  };
}

export function unaryExpr(op: UnaryOp, dtype: DType): string {
  return UNARY[op](wgslType(dtype));
}
export function binaryExpr(op: BinaryOp, dtype: DType): string {
  return BINARY[op](wgslType(dtype));
}
export function compareExpr(op: CompareOp): string {
  return `select(0i, 1i, ${COMPARE[op]})`;
}
export function whereExpr(condDtype: DType): string {
  return `select(x2, x1, !(x0 == ${wgslType(condDtype)}(0)))`;
}
export function castExpr(from: DType, to: DType): string {
  if (from === to) return 'x0';
  return to === 'i32' ? 'f32_to_i32(x0)' : `${wgslType(to)}(x0)`;
}
/** Fill with a raw bit pattern stored at Params[EXTRA]. */
export function fillProgram(n: number, value: number, dtype: DType): Program {
  const bits = new ParamWriter().value(value, dtype).done()[0]!;
  return mapProgram('fill', `bitcast<${wgslType(dtype)}>(pu(${EXTRA}u))`, [], [n], dtype, [bits]);
}
