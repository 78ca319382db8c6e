/**
 * Fused scaled-dot-product attention, flash style (ORT flash_attention.wgsl.template): each lane holds
 * one query row (or, in the dK/dV pass, one key row) as vec4s in arrays sized DP ∈ {64, 128, 256} ≥ Dh;
 * the other side's rows stream through workgroup memory in tiles.
 *
 * fwd   lane = query row; K/V tiles; online softmax (running max m, denominator l, output rescaled by
 *       exp(m_old − m_new) once per tile); writes out and lse = m + log l (−∞, out 0 for all −∞ rows).
 * prep  lane = query row: stats[row] = (D = dOut·out, shift = lse or 0 when lse = −∞, ·).
 * dq    lane = query row; K/V tiles; p = exp(s − shift), r = Σ p, dq = scale·Σ p(dOut·v − D)k / r;
 *       stores 1/r in stats (P is renormalised so lse only has to be a stable shift: see cpu/attention.ts).
 * dkv   lane = key row (prefix keys included); Q/dOut/stats tiles; P = exp(s − shift)/r,
 *       dv = Σ_i P dOut_i, dk = scale·Σ_i P(dOut_i·v − D_i) q_i.
 * Storage buffers per stage stay ≤ 8 (the default limit) — hence the separate prep pass.
 * Workgroup memory: fwd/dq 2·TK·DP·4 B, dkv TQ·(2·DP·4 + 16) B, each ≤ 16 KiB (DP = 64: TK = 32, TQ = 31).
 *
 * Answers to core/backend/cpu/attention.ts attentionRef / attentionBackwardRef.
 */
import { grid, LINEAR_WG, ParamWriter, paramsWgsl, WG_BUILTINS, type Program, type Tol } from './common.ts';

export const REFERENCE = 'core/backend/cpu/attention.ts: attentionRef, attentionBackwardRef';
/** f32 sums over Dh (scores) and over T keys or queries (outputs, gradients). */
export const tolFor = (T: number): Tol => ({ atol: 1e-5 * Math.sqrt(Math.max(T, 1)) + 1e-5, rtol: 2e-4 });

const WG = 64;
const SMEM = 16384;
export const MAX_DH = 256;

export interface AttnShape {
  readonly B: number;
  readonly H: number;
  readonly Tq: number;
  readonly Tk: number;
  readonly Dh: number;
  /** Element strides of the bias against [B, H, Tq, Tk] (0 where broadcast); undefined: no bias. */
  readonly biasStrides?: readonly number[] | undefined;
}

const padDim = (Dh: number): number => {
  if (Dh > MAX_DH) throw new RangeError(`attention kernels: Dh ${Dh} exceeds ${MAX_DH}`);
  // loops run to the runtime Dh, so DP only sizes arrays: few buckets = few cold compiles
  return Dh <= 64 ? 64 : Dh <= 128 ? 128 : 256;
};

/** Params: B, H, Tq, Tk, Dh, scale, bias strides ×4, lane blocks per (b, h). */
function params(s: AttnShape, scale: number, rows: number): Uint32Array {
  return new ParamWriter()
    .u(s.B, s.H, s.Tq, s.Tk, s.Dh)
    .f(scale)
    .fixed(s.biasStrides ?? [], 4)
    .u(Math.ceil(rows / WG))
    .done();
}

/** A vec4 of row `row`, dims 4c..4c+3 of a [rows, Dh] buffer, zero past Dh. */
const load4 = (buf: string) => `
fn ${buf}4(row: u32, c: u32) -> vec4<f32> {
  let Dh = pu(4u); let base = row * Dh + c * 4u; var r = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) { if (c * 4u + e < Dh) { r[e] = ${buf}[base + e]; } }
  return r;
}`;

/** Writes vec4 array `arr` (times `mul`) as row `row` of a [rows, Dh] buffer, unrolled over DV. */
const store = (buf: string, arr: string, mul: string, _DV: number) => `
  for (var c = 0u; c < nv; c++) {
    let w = ${arr}[c] * ${mul};
    for (var e = 0u; e < 4u; e++) { if (c * 4u + e < Dh) { ${buf}[row * Dh + c * 4u + e] = w[e]; } }
  }`;

interface Bindings {
  readonly ins: readonly string[];
  readonly outs: readonly string[];
  readonly rw?: readonly string[];
}

/** Storage declarations (inputs read-only first, then outputs), Params, and helpers. */
function header(key: string, b: Bindings, loaders: readonly string[]): string {
  const decl = (names: readonly string[], from: number, mode: string) =>
    names.map((n, i) => `@group(0) @binding(${from + i}) var<storage, ${mode}> ${n}: array<f32>;`).join('\n');
  return `// ${key}
${decl(b.ins, 0, 'read')}
${decl(b.outs, b.ins.length, 'read_write')}
${paramsWgsl(b.ins.length + b.outs.length)}
${loaders.map(load4).join('\n')}`;
}

/** Lane setup shared by the kernels: (b,h) pair of the workgroup, this lane's row, bias base offset. */
const laneSetup = (rowsParam: string, rowAxis: 'q' | 'k') => `
  let B = pu(0u); let H = pu(1u); let Tq = pu(2u); let Tk = pu(3u); let Dh = pu(4u); let scale = pf(5u);
  let nblk = pu(10u); let nv = (Dh + 3u) / 4u; // runtime bound: unrolling DV vec4s made lavapipe JIT take 15-40 s per kernel
  let wg = ${LINEAR_WG};
  let bh = wg / nblk;
  if (bh >= B * H) { return; }
  let t = (wg % nblk) * ${WG}u + lix;
  let valid = t < ${rowsParam};
  let tc = min(t, max(${rowsParam}, 1u) - 1u);
  let bias_base = (bh / H) * pu(6u) + (bh % H) * pu(7u) + ${rowAxis === 'q' ? 'tc * pu(8u)' : 'tc * pu(9u)'};`;

/**
 * Inside a loop over key tiles `t0`: the workgroup stages K and V rows t0 … t0 + TK (clamped to the last
 * key, so the tail tile reads valid memory) into `k_tile` / `v_tile`, between barriers.
 */
const stageKvTile = (TK: number, DV: number) => `workgroupBarrier();
    for (var idx = lix; idx < ${TK * DV}u; idx += ${WG}u) {
      let j = bh * Tk + min(t0 + idx / ${DV}u, Tk - 1u);
      k_tile[idx] = k4(j, idx % ${DV}u); v_tile[idx] = v4(j, idx % ${DV}u);
    }
    workgroupBarrier();`;

export function attentionForwardProgram(s: AttnShape, scale: number): Program {
  const DP = padDim(s.Dh),
    DV = DP / 4,
    TK = Math.min(64, SMEM / (8 * DP));
  const hasBias = !!s.biasStrides;
  const key = `attention/fwd/dp${DP}/tk${TK}/wg${WG}/bias${+hasBias}`;
  const b: Bindings = { ins: ['q', 'k', 'v', ...(hasBias ? ['bias'] : [])], outs: ['out', 'lse'] };
  const biasAt = hasBias ? ' + bias[bias_base + (t0 + jj) * pu(9u)]' : '';
  const wgsl = () => `${header(key, b, ['q', 'k', 'v'])}
var<workgroup> k_tile: array<vec4<f32>, ${TK * DV}>;
var<workgroup> v_tile: array<vec4<f32>, ${TK * DV}>;
@compute @workgroup_size(${WG})
fn main(${WG_BUILTINS}) {${laneSetup('Tq', 'q')}
  let row = bh * Tq + tc;
  var qr: array<vec4<f32>, ${DV}>; var o: array<vec4<f32>, ${DV}>; var s: array<f32, ${TK}>;
  for (var c = 0u; c < nv; c++) { qr[c] = q4(row, c) * scale; o[c] = vec4<f32>(0.0); }
  var m = -inf_f32(); var l = 0.0;
  for (var t0 = 0u; t0 < Tk; t0 += ${TK}u) {
    ${stageKvTile(TK, DV)}
    let n = min(${TK}u, Tk - t0);
    var tmax = -inf_f32();
    for (var jj = 0u; jj < n; jj++) {
      var d = 0.0;
      for (var c = 0u; c < nv; c++) { d += dot(qr[c], k_tile[jj * ${DV}u + c]); }
      s[jj] = d${biasAt};
      tmax = max(tmax, s[jj]);
    }
    let m_new = max(m, tmax);
    let shift = select(m_new, 0.0, m_new == -inf_f32()); // all −∞ so far: keep exp finite
    let alpha = exp(m - shift);
    l *= alpha;
    for (var c = 0u; c < nv; c++) { o[c] *= alpha; }
    for (var jj = 0u; jj < n; jj++) {
      let p = exp(s[jj] - shift);
      l += p;
      for (var c = 0u; c < nv; c++) { o[c] += p * v_tile[jj * ${DV}u + c]; }
    }
    m = m_new;
  }
  if (!valid) { return; }
  let inv = select(1.0 / l, 0.0, l == 0.0);
  ${store('out', 'o', 'inv', DV)}
  lse[row] = select(m + log(l), -inf_f32(), l == 0.0);
}`;
  return {
    name: 'attention(fwd)',
    key,
    wgsl,
    params: params(s, scale, s.Tq),
    workgroups: grid(s.B * s.H * Math.ceil(s.Tq / WG)),
  };
}

/** stats [B·H·Tq, 3] = (D, shift, ·): inputs dOut, out, lse. */
export function attentionPrepProgram(s: AttnShape): Program {
  const key = `attention/prep/wg${WG}`;
  const wgsl = () => `${header(key, { ins: ['d_out', 'out', 'lse'], outs: ['stats'] }, [])}
@compute @workgroup_size(${WG})
fn main(${WG_BUILTINS}) {
  let rows = pu(0u) * pu(1u) * pu(2u); let Dh = pu(4u);
  let row = (${LINEAR_WG}) * ${WG}u + lix;
  if (row >= rows) { return; }
  var d = 0.0;
  for (var e = 0u; e < Dh; e++) { d += d_out[row * Dh + e] * out[row * Dh + e]; }
  let L = lse[row];
  stats[row * 3u] = d;
  stats[row * 3u + 1u] = select(L, 0.0, L == -inf_f32());
}`;
  const rows = s.B * s.H * s.Tq;
  return { name: 'attention(prep)', key, wgsl, params: params(s, 0, rows), workgroups: grid(Math.ceil(rows / WG)) };
}

/** dq and stats[·, 2] = 1/r: inputs q, k, v, bias?, dOut; read_write stats, dq. */
export function attentionDqProgram(s: AttnShape, scale: number): Program {
  const DP = padDim(s.Dh),
    DV = DP / 4,
    TK = Math.min(64, SMEM / (8 * DP));
  const hasBias = !!s.biasStrides;
  const key = `attention/dq/dp${DP}/tk${TK}/wg${WG}/bias${+hasBias}`;
  const b: Bindings = { ins: ['q', 'k', 'v', ...(hasBias ? ['bias'] : []), 'd_out'], outs: ['stats', 'dq'] };
  const biasAt = hasBias ? ' + bias[bias_base + (t0 + jj) * pu(9u)]' : '';
  const wgsl = () => `${header(key, b, ['q', 'k', 'v', 'd_out'])}
var<workgroup> k_tile: array<vec4<f32>, ${TK * DV}>;
var<workgroup> v_tile: array<vec4<f32>, ${TK * DV}>;
@compute @workgroup_size(${WG})
fn main(${WG_BUILTINS}) {${laneSetup('Tq', 'q')}
  let row = bh * Tq + tc;
  var qr: array<vec4<f32>, ${DV}>; var dor: array<vec4<f32>, ${DV}>; var acc: array<vec4<f32>, ${DV}>;
  for (var c = 0u; c < nv; c++) { qr[c] = q4(row, c) * scale; dor[c] = d_out4(row, c); acc[c] = vec4<f32>(0.0); }
  let D = stats[row * 3u]; let shift = stats[row * 3u + 1u];
  var r = 0.0;
  for (var t0 = 0u; t0 < Tk; t0 += ${TK}u) {
    ${stageKvTile(TK, DV)}
    let n = min(${TK}u, Tk - t0);
    for (var jj = 0u; jj < n; jj++) {
      var sc = 0.0; var dp = 0.0;
      for (var c = 0u; c < nv; c++) { sc += dot(qr[c], k_tile[jj * ${DV}u + c]); dp += dot(dor[c], v_tile[jj * ${DV}u + c]); }
      let p = exp(sc${biasAt} - shift);
      r += p;
      let g = p * (dp - D);
      for (var c = 0u; c < nv; c++) { acc[c] += g * k_tile[jj * ${DV}u + c]; }
    }
  }
  if (!valid) { return; }
  let rinv = select(1.0 / r, 0.0, r == 0.0);
  stats[row * 3u + 2u] = rinv;
  ${store('dq', 'acc', '(scale * rinv)', DV)}
}`;
  return {
    name: 'attention(dq)',
    key,
    wgsl,
    params: params(s, scale, s.Tq),
    workgroups: grid(s.B * s.H * Math.ceil(s.Tq / WG)),
  };
}

/** dk, dv per key row: inputs q, k, v, bias?, dOut, stats; outputs dk, dv. */
export function attentionDkvProgram(s: AttnShape, scale: number): Program {
  const DP = padDim(s.Dh),
    DV = DP / 4,
    TQ = Math.min(64, Math.floor(SMEM / (8 * DP + 16)));
  const hasBias = !!s.biasStrides;
  const key = `attention/dkv/dp${DP}/tq${TQ}/wg${WG}/bias${+hasBias}`;
  const b: Bindings = { ins: ['q', 'k', 'v', ...(hasBias ? ['bias'] : []), 'd_out', 'stats'], outs: ['dk', 'dv'] };
  const biasAt = hasBias ? ' + bias[bias_base + (i0 + ii) * pu(8u)]' : '';
  const wgsl = () => `${header(key, b, ['q', 'k', 'v', 'd_out'])}
var<workgroup> q_tile: array<vec4<f32>, ${TQ * DV}>;
var<workgroup> do_tile: array<vec4<f32>, ${TQ * DV}>;
var<workgroup> st_tile: array<vec4<f32>, ${TQ}>;
@compute @workgroup_size(${WG})
fn main(${WG_BUILTINS}) {${laneSetup('Tk', 'k')}
  let row = bh * Tk + tc;
  var kr: array<vec4<f32>, ${DV}>; var vr: array<vec4<f32>, ${DV}>;
  var dk_acc: array<vec4<f32>, ${DV}>; var dv_acc: array<vec4<f32>, ${DV}>;
  for (var c = 0u; c < nv; c++) {
    kr[c] = k4(row, c) * scale; vr[c] = v4(row, c); dk_acc[c] = vec4<f32>(0.0); dv_acc[c] = vec4<f32>(0.0);
  }
  for (var i0 = 0u; i0 < Tq; i0 += ${TQ}u) {
    workgroupBarrier();
    for (var idx = lix; idx < ${TQ * DV}u; idx += ${WG}u) {
      let i = bh * Tq + min(i0 + idx / ${DV}u, Tq - 1u);
      q_tile[idx] = q4(i, idx % ${DV}u); do_tile[idx] = d_out4(i, idx % ${DV}u);
    }
    for (var ii = lix; ii < ${TQ}u; ii += ${WG}u) {
      let i = bh * Tq + min(i0 + ii, Tq - 1u);
      st_tile[ii] = vec4<f32>(stats[i * 3u], stats[i * 3u + 1u], stats[i * 3u + 2u], 0.0);
    }
    workgroupBarrier();
    let n = min(${TQ}u, Tq - i0);
    for (var ii = 0u; ii < n; ii++) {
      let st = st_tile[ii];
      var sc = 0.0; var dp = 0.0;
      for (var c = 0u; c < nv; c++) { sc += dot(q_tile[ii * ${DV}u + c], kr[c]); dp += dot(do_tile[ii * ${DV}u + c], vr[c]); }
      let p = exp(sc${biasAt} - st.y) * st.z;
      let g = p * (dp - st.x);
      for (var c = 0u; c < nv; c++) { dv_acc[c] += p * do_tile[ii * ${DV}u + c]; dk_acc[c] += g * q_tile[ii * ${DV}u + c]; }
    }
  }
  if (!valid) { return; }
  ${store('dk', 'dk_acc', 'scale', DV)}
  ${store('dv', 'dv_acc', '1.0', DV)}
}`;
  return {
    name: 'attention(dkv)',
    key,
    wgsl,
    params: params(s, scale, s.Tk),
    workgroups: grid(s.B * s.H * Math.ceil(s.Tk / WG)),
  };
}
