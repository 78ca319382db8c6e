/**
 * Fused attention on the WASM backend, composed of the SIMD GEMM and the row kernels of
 * attention.ts, with the CPU reference's semantics (core/backend/cpu/attention.ts): lse = m + log l;
 * rows whose scores are all −∞ give out = 0, lse = −∞ and no gradient; the backward recomputes P
 * (normalised by its own row sum, which is what makes finfo.min-masked rows exact).
 */
import type { TensorRef } from '../backend.ts';
import type { Shape } from '../../tensor/shape.ts';
import { f32Bits } from './encoder.ts';
import { runGemm, type GemmHost } from './gemm-run.ts';
import { rowSplit } from './layout.ts';

/** What the backend lends these functions: the GEMM's host (heap views, operands, scratch) whose pool also runs the row kernels. */
export type AttnHost = GemmHost & {
  run(fn: 'gemm' | 'softmax_rows' | 'attn_ds', chunks: readonly (readonly number[])[]): void;
};

/** A row kernel over R rows, split across the pool (one chunk per 64·… elements of work, as the host decides). */
const rows = (
  h: AttnHost,
  fn: 'softmax_rows' | 'attn_ds',
  R: number,
  args: (lo: number, hi: number) => number[],
): void => h.run(fn, rowSplit(R, h.chunks(R * 64, R), args));

/** The dims of attention on q [B, H, Tq, Dh] and k [B, H, Tk, Dh]. */
export function attnDims(q: TensorRef, k: TensorRef): AttnDims {
  const [B, H, Tq, Dh] = q.shape as [number, number, number, number];
  return { B, H, Tq, Tk: k.shape[2]!, Dh };
}

export interface AttnDims {
  readonly B: number;
  readonly H: number;
  readonly Tq: number;
  readonly Tk: number;
  readonly Dh: number;
}

const contiguous = (P: number, size: number): Int32Array => Int32Array.from({ length: P }, (_, p) => p * size);

/** Element strides of a bias right-aligned against [B, H, Tq, Tk] (0 on broadcast axes). */
function biasStrides(shape: Shape): number[] {
  const full = [1, 1, 1, 1];
  shape.forEach((d, i) => {
    full[4 - shape.length + i] = d;
  });
  const st = [0, 0, 0, 0];
  for (let ax = 3, acc = 1; ax >= 0; ax--) {
    st[ax] = full[ax] === 1 ? 0 : acc;
    acc *= full[ax]!;
  }
  return st;
}

/** P = softmax(scale·Q·Kᵀ + bias) into `into` (default a scratch block); returns it with the row max and sum pointers. */
function probabilities(
  h: AttnHost,
  d: AttnDims,
  qP: number,
  kP: number,
  bias: TensorRef | undefined,
  scale: number,
  into?: number,
) {
  const { B, H, Tq, Tk, Dh } = d,
    BH = B * H,
    R = BH * Tq;
  const sP = into ?? h.scratch(4 * R * Tk);
  runGemm(h, qP, kP, sP, contiguous(BH, Tq * Dh), contiguous(BH, Tk * Dh), Tq, Tk, Dh, false, true);
  let biasP: number, inner: number;
  const offP = h.scratch(4 * R);
  if (bias) {
    const st = biasStrides(bias.shape);
    biasP = h.input(bias);
    inner = st[3]!;
    for (let bh = 0, r = 0; bh < BH; bh++) {
      const base = Math.floor(bh / H) * st[0]! + (bh % H) * st[1]!;
      for (let i = 0; i < Tq; i++, r++) h.i32[(offP >>> 2) + r] = base + i * st[2]!;
    }
  } else {
    biasP = h.scratch(16);
    h.f32.fill(0, biasP >>> 2, (biasP >>> 2) + 4);
    inner = 0;
    h.i32.fill(0, offP >>> 2, (offP >>> 2) + R);
  }
  const mP = h.scratch(4 * R),
    sumP = h.scratch(4 * R);
  rows(h, 'softmax_rows', R, (lo, hi) => [sP, biasP, offP, inner, mP, sumP, Tk, f32Bits(scale), lo, hi]);
  // all −∞ rows came out NaN (exp(−∞ + ∞)): they attend to nothing
  for (let r = 0; r < R; r++)
    if (h.f32[(mP >>> 2) + r] === -Infinity) h.f32.fill(0, (sP >>> 2) + r * Tk, (sP >>> 2) + (r + 1) * Tk);
  return { sP, mP, sumP };
}

/** Writes out and lse; with `probsP`, P ([B·H·Tq, Tk]) is left there for the backward. */
export function attentionForward(
  h: AttnHost,
  d: AttnDims,
  q: TensorRef,
  k: TensorRef,
  v: TensorRef,
  bias: TensorRef | undefined,
  scale: number,
  outP: number,
  lseP: number,
  probsP?: number,
): void {
  const { B, H, Tq, Tk, Dh } = d,
    BH = B * H;
  const qP = h.input(q),
    kP = h.input(k),
    vP = h.input(v);
  const { sP, mP, sumP } = probabilities(h, d, qP, kP, bias, scale, probsP);
  runGemm(h, sP, vP, outP, contiguous(BH, Tq * Tk), contiguous(BH, Tk * Dh), Tq, Dh, Tk, false, false);
  for (let r = 0; r < BH * Tq; r++) {
    const m = h.f32[(mP >>> 2) + r]!;
    h.f32[(lseP >>> 2) + r] = m === -Infinity ? -Infinity : m + Math.log(h.f32[(sumP >>> 2) + r]!);
  }
}

/** `savedP`: the forward's P (attentionForward's probsP), else it is recomputed. */
export function attentionBackward(
  h: AttnHost,
  d: AttnDims,
  dOut: TensorRef,
  q: TensorRef,
  k: TensorRef,
  v: TensorRef,
  bias: TensorRef | undefined,
  out: TensorRef,
  lse: TensorRef,
  scale: number,
  dqP: number,
  dkP: number,
  dvP: number,
  savedP?: number,
): void {
  const { B, H, Tq, Tk, Dh } = d,
    BH = B * H,
    R = BH * Tq;
  const qP = h.input(q),
    kP = h.input(k),
    vP = h.input(v),
    doP = h.input(dOut),
    oP = h.input(out),
    lP = h.input(lse);
  // P is only read below (attn_ds writes dS over dP); the row zeroing is idempotent, so a saved P serves any number of backwards
  const sP = savedP ?? probabilities(h, d, qP, kP, bias, scale).sP;
  // rows the forward left without keys (lse −∞, or NaN) get no gradient
  for (let r = 0; r < R; r++) {
    const L = h.f32[(lP >>> 2) + r]!;
    if (L === -Infinity || Number.isNaN(L)) h.f32.fill(0, (sP >>> 2) + r * Tk, (sP >>> 2) + (r + 1) * Tk);
  }
  const dpP = h.scratch(4 * R * Tk);
  runGemm(h, doP, vP, dpP, contiguous(BH, Tq * Dh), contiguous(BH, Tk * Dh), Tq, Tk, Dh, false, true);
  rows(h, 'attn_ds', R, (lo, hi) => [sP, dpP, doP, oP, Dh, Tk, f32Bits(scale), lo, hi]);
  const sQ = contiguous(BH, Tq * Dh),
    sK = contiguous(BH, Tk * Dh),
    sS = contiguous(BH, Tq * Tk);
  runGemm(h, dpP, kP, dqP, sS, sK, Tq, Dh, Tk, false, false); // dq = dS·K
  runGemm(h, dpP, qP, dkP, sS, sQ, Tk, Dh, Tq, true, false); // dk = dSᵀ·Q
  runGemm(h, sP, doP, dvP, sS, sQ, Tk, Dh, Tq, true, false); // dv = Pᵀ·dOut
}
