/**
 * What every WGSL kernel file shares: the `Program` a kernel generator returns, the uniform `Params`
 * block (sizes travel here, never in the cache key — ORT's pattern), 1-D grids that stay under the
 * 65535-workgroups-per-dimension limit, and the tolerance type of the parity suite.
 */
import type { DType } from '../../core/tensor/dtype.ts';

/** One dispatch: inputs bind read-only at 0..n-1, outputs read_write after them, Params last. */
export interface Program {
  /** Human name, used in error messages. */
  readonly name: string;
  /** Cache key: op/variant/params — only what changes the WGSL text. */
  readonly key: string;
  readonly wgsl: () => string;
  readonly workgroups: readonly [number, number, number];
  readonly params: Uint32Array;
}

/** Per-kernel parity tolerance: |got − ref| ≤ atol + rtol·|ref| (llm.c `validate_result`). */
export interface Tol {
  readonly atol: number;
  readonly rtol: number;
}

/** Uniform words available to a kernel (16 × vec4<u32>). */
export const PARAM_WORDS = 64;
export const MAX_DIMS = 8;
const MAX_GROUPS = 65535;

/** Builds the u32 words of a Params block; floats are stored as their f32 bit pattern. */
export class ParamWriter {
  private readonly words: number[] = [];
  private readonly f32 = new Float32Array(1);
  private readonly u32 = new Uint32Array(this.f32.buffer);
  u(...v: readonly number[]): this {
    for (const x of v) this.words.push(x >>> 0);
    return this;
  }
  /** Pads `v` to exactly `n` words so later fields keep fixed offsets. */
  fixed(v: readonly number[], n: number, fillWith = 0): this {
    if (v.length > n) throw new RangeError(`params: ${v.length} values exceed the ${n} slots`);
    for (let i = 0; i < n; i++) this.words.push((v[i] ?? fillWith) >>> 0);
    return this;
  }
  f(...v: readonly number[]): this {
    for (const x of v) {
      this.f32[0] = x;
      this.words.push(this.u32[0]!);
    }
    return this;
  }
  /** A value of the given storage dtype, as raw bits. */
  value(v: number, dtype: DType): this {
    return dtype === 'i32' ? this.u(v | 0) : this.f(v);
  }
  done(): Uint32Array {
    if (this.words.length > PARAM_WORDS)
      throw new RangeError(`params: ${this.words.length} words exceed ${PARAM_WORDS}`);
    const out = new Uint32Array(PARAM_WORDS);
    out.set(this.words);
    return out;
  }
}

export const wgslType = (d: DType): 'f32' | 'i32' => {
  if (d === 'f64') throw new TypeError('WGSL has no f64');
  return d;
};

/** Uniform block plus accessors: pu(i) u32 word i, pf(i) as f32, pi(i) as i32. */
export const paramsWgsl = (binding: number): string => `
struct Params { v: array<vec4<u32>, ${PARAM_WORDS / 4}> }
@group(0) @binding(${binding}) var<uniform> params: Params;
fn pu(i: u32) -> u32 { return params.v[i / 4u][i % 4u]; }
fn pf(i: u32) -> f32 { return bitcast<f32>(pu(i)); }
fn pi(i: u32) -> i32 { return bitcast<i32>(pu(i)); }
// WGSL const-eval rejects NaN/∞ literals, so they are built from a runtime word
fn nan_f32() -> f32 { return bitcast<f32>(0x7fc00000u | (pu(0u) & 0u)); }
fn inf_f32() -> f32 { return bitcast<f32>(0x7f800000u | (pu(0u) & 0u)); }
`;

/**
 * The binding declarations of a kernel: `[name, element type, 'read' | 'rw']` in binding order, then the
 * params uniform after them.
 */
export function storageBindings(decls: readonly (readonly [string, 'f32' | 'i32' | 'u32', 'read' | 'rw'])[]): string {
  const lines = decls.map(
    ([name, type, access], i) =>
      `@group(0) @binding(${i}) var<storage, ${access === 'rw' ? 'read_write' : 'read'}> ${name}: array<${type}>;`,
  );
  return `${lines.join('\n')}\n${paramsWgsl(decls.length)}`;
}

/** Workgroup counts for `n` groups, folded into y when x would pass the per-dimension limit. */
export function grid(n: number): [number, number, number] {
  if (n <= MAX_GROUPS) return [n, 1, 1];
  const y = Math.ceil(n / MAX_GROUPS);
  if (y > MAX_GROUPS) throw new RangeError(`dispatch of ${n} workgroups is too large`);
  return [MAX_GROUPS, y, 1];
}

/** Linear workgroup id matching `grid` (WGSL expression; needs `wid` and `nwg` builtins). */
export const LINEAR_WG = 'wid.x + wid.y * nwg.x';
export const WG_BUILTINS =
  '@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lix: u32';

/**
 * `main` of a kernel with one thread per element: `i` below Params[0] is in scope of `body` (threads
 * past it return).
 */
export const elementKernelMain = (wg: number, body: string): string => `@compute @workgroup_size(${wg})
fn main(${WG_BUILTINS}) {
  let i = (${LINEAR_WG}) * ${wg}u + lix;
  if (i >= pu(0u)) { return; }
  ${body}
}`;

/**
 * `main` of a kernel with one workgroup of `wg` threads per row of a [rows, C] problem (params 0 and 1
 * are rows and C): `row`, `C`, `base` (= row·C) and a shared `buf` of `wg` × `bufType` are in scope of `body`.
 */
export const rowKernelMain = (
  wg: number,
  body: string,
  bufType = 'f32',
): string => `var<workgroup> buf: array<${bufType}, ${wg}>;
@compute @workgroup_size(${wg})
fn main(${WG_BUILTINS}) {
  let row = ${LINEAR_WG};
  if (row >= pu(0u)) { return; }
  let C = pu(1u);
  let base = row * C;
  ${body}
}`;

/** Row-major strides. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i]!;
  }
  return st;
}

/**
 * Drops size-1 axes and merges neighbours that every operand walks contiguously, so most
 * broadcasts run at rank 1–3 whatever the tensor rank.
 */
export function collapse(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let ax = 0; ax < shape.length; ax++) {
    const d = shape[ax]!;
    if (d === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[ax]! * d);
    if (mergeable) {
      outShape[last] = outShape[last]! * d;
      strides.forEach((s, k) => {
        outStrides[k]![last] = s[ax]!;
      });
    } else {
      outShape.push(d);
      strides.forEach((s, k) => outStrides[k]!.push(s[ax]!));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** Tree reduction over a workgroup-shared array `buf` of WG entries with `combine(a, b)`. */
export const treeReduce = (buf: string, wg: number, combine: (a: string, b: string) => string): string => `
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lix < s) { ${buf}[lix] = ${combine(`${buf}[lix]`, `${buf}[lix + s]`)}; }
    workgroupBarrier();
  }`;
