/**
 * The WebGPU backend: f32 and i32 storages in pooled GPUBuffers (storage.ts), every kernel a WGSL
 * program from kernels/wgsl/, held to the CPU reference by proofs-tests/kernels. No CPU fallback: a missing kernel
 * or dtype throws UnsupportedOp. f16 storage (2-byte halves, frozen weights: cast and matmul only)
 * exists when the device has shader-f16; without it asking for f16 throws, never falls back to f32.
 */
import {
  I32_UNARY_OPS,
  I32_UNARY_REFUSAL,
  UnsupportedOp,
  type AdamWHyper,
  type Backend,
  type BinaryOp,
  type CompareOp,
  type DataId,
  type Int8Id,
  type MatmulOptions,
  type ReduceOp,
  type StoredRef,
  type TensorRef,
  type UnaryOp,
} from '../backend.ts';
import type { DType, StorageDType } from '../../tensor/dtype.ts';
import type { Int8Direction, Int8Matrix } from '../../tensor/int8.ts';
import { biasStrides } from '../cpu/attention.ts';
import { broadcastStrides, sizeOf, stridesOf, type Shape } from '../../tensor/shape.ts';
import { adamwProgram } from '../../../kernels/wgsl/adamw.ts';
import {
  attentionDkvProgram,
  attentionDqProgram,
  attentionForwardProgram,
  attentionPrepProgram,
  MAX_DH,
  type AttnShape,
} from '../../../kernels/wgsl/attention.ts';
import {
  binaryExpr,
  castExpr,
  compareExpr,
  mapProgram,
  unaryExpr,
  whereExpr,
  type MapInput,
} from '../../../kernels/wgsl/elementwise.ts';
import { gatherProgram, oneHotProgram, scatterAddProgram } from '../../../kernels/wgsl/gather.ts';
import { layerNormDwProgram, layerNormDxProgram, layerNormProgram } from '../../../kernels/wgsl/layernorm.ts';
import { fromHalfProgram, toHalfProgram } from '../../../kernels/wgsl/half.ts';
import { matmulNaiveProgram, matmulTiledProgram, type Operands } from '../../../kernels/wgsl/matmul.ts';
import { concatPartProgram, padProgram, stridedProgram } from '../../../kernels/wgsl/movement.ts';
import { argmaxProgram, reduceProgram } from '../../../kernels/wgsl/reduce.ts';
import { softmaxProgram } from '../../../kernels/wgsl/softmax.ts';
import { crossEntropyBackwardProgram, crossEntropyProgram } from '../../../kernels/wgsl/cross-entropy.ts';
import { acquireDevice } from './device.ts';
import { BYTES, WebGpuStorage, type WebGpuOptions } from './storage.ts';

export { NoAdapterError } from './device.ts';
export { ShaderError } from './runtime.ts';
export type { WebGpuOptions };

export class WebGpuBackend extends WebGpuStorage implements Backend {
  // ---------------- elementwise ----------------
  private bin(r: TensorRef, outShape: Shape): MapInput {
    return { dtype: r.dtype, shape: r.shape, strides: broadcastStrides(r.shape, outShape), offset: 0 };
  }
  unary(op: UnaryOp, x: TensorRef): DataId {
    this.dt(op, x);
    if (x.dtype === 'i32' && !I32_UNARY_OPS.has(op)) throw new UnsupportedOp(op, 'webgpu', I32_UNARY_REFUSAL);
    return this.exec1(
      mapProgram(op, unaryExpr(op, x.dtype), [this.bin(x, x.shape)], x.shape, x.dtype),
      [x],
      sizeOf(x.shape),
    );
  }
  binary(op: BinaryOp, a: TensorRef, b: TensorRef, outShape: Shape): DataId {
    this.dt(op, a, b);
    const prog = mapProgram(
      op,
      binaryExpr(op, a.dtype),
      [this.bin(a, outShape), this.bin(b, outShape)],
      outShape,
      a.dtype,
    );
    return this.exec1(prog, [a, b], sizeOf(outShape));
  }
  compare(op: CompareOp, a: TensorRef, b: TensorRef, outShape: Shape): DataId {
    this.dt(op, a, b);
    const prog = mapProgram(op, compareExpr(op), [this.bin(a, outShape), this.bin(b, outShape)], outShape, 'i32');
    return this.exec1(prog, [a, b], sizeOf(outShape));
  }
  where(c: TensorRef, a: TensorRef, b: TensorRef, outShape: Shape): DataId {
    this.dt('where', c, a, b);
    const ins = [this.bin(c, outShape), this.bin(a, outShape), this.bin(b, outShape)];
    return this.exec1(mapProgram('where', whereExpr(c.dtype), ins, outShape, a.dtype), [c, a, b], sizeOf(outShape));
  }
  cast(x: StoredRef, dtype: StorageDType): DataId {
    this.dt('cast', x, { dtype });
    const from = x.dtype;
    if (from === 'f16' || dtype === 'f16') return this.castHalf(x, dtype);
    return this.exec1(
      mapProgram(`cast`, castExpr(from, dtype), [this.bin({ ...x, dtype: from }, x.shape)], x.shape, dtype),
      [x],
      sizeOf(x.shape),
    );
  }

  /** f32 → f16 (2 bytes an element), f16 → f32, or f16 → f16 (the same storage, one more reference). */
  private castHalf(x: StoredRef, dtype: StorageDType): DataId {
    const n = sizeOf(x.shape);
    if (x.dtype === dtype) {
      this.rt.incRef(x.id);
      return x.id;
    }
    if (dtype === 'f16' && x.dtype === 'f32') return this.exec(toHalfProgram(n), [x], [n / 2])[0]!;
    if (x.dtype === 'f16' && dtype === 'f32') return this.exec1(fromHalfProgram(n), [x], n);
    throw new UnsupportedOp('cast', 'webgpu', `${x.dtype} → ${dtype} (f16 casts are f32 → f16 and f16 → f32)`);
  }

  // ---------------- reductions ----------------
  reduce(op: ReduceOp, x: TensorRef, axes: readonly number[]): DataId {
    this.dt(op, x);
    const outN = sizeOf(x.shape.filter((_, i) => !axes.includes(i)));
    if (axes.length === 0) return this.strided(x, x.shape, stridesOf(x.shape), 0);
    if (axes.some((a) => x.shape[a] === 0)) {
      if (op !== 'sum') throw new Error(`reduce ${op}: cannot reduce an empty axis of shape [${x.shape.join(', ')}]`);
      return this.fill(outN, 0, x.dtype);
    }
    return this.exec1(reduceProgram(op, x.dtype, x.shape, axes), [x], outN);
  }
  argmax(x: TensorRef, axis: number): DataId {
    this.dt('argmax', x);
    return this.exec1(argmaxProgram(x.dtype, x.shape, axis), [x], sizeOf(x.shape) / Math.max(1, x.shape[axis]!));
  }

  // ---------------- linear algebra ----------------
  /** Either operand may be f16 storage; the kernel widens it to f32 as it loads (kernels/wgsl/matmul.ts). */
  matmul(a: StoredRef, b: StoredRef, opts: MatmulOptions, outShape: Shape): DataId {
    this.dt('matmul', a, b);
    const f = (r: StoredRef) => (r.dtype === 'f32' || r.dtype === 'f16' ? r.dtype : undefined),
      ta = f(a),
      tb = f(b);
    if (!ta || !tb) throw new UnsupportedOp('matmul', 'webgpu', `dtypes ${a.dtype} × ${b.dtype}`);
    const shapes = { aShape: a.shape, bShape: b.shape, outShape },
      types: Operands = { a: ta, b: tb };
    const prog =
      this.opts.matmul === 'naive'
        ? matmulNaiveProgram(shapes, opts, types)
        : matmulTiledProgram(shapes, opts, this.tile, types);
    if (opts.bias) this.dt('matmul', opts.bias);
    return this.exec1(prog, opts.bias ? [a, b, opts.bias] : [a, b], sizeOf(outShape));
  }

  // ---------------- int8 frozen weights (int8.ts; refused without WGSL's dot4I8Packed) ----------------
  get int8Refusal(): string | undefined {
    return this.int8.refusal;
  }
  get int8Kernel(): string | undefined {
    return this.int8.available ? 'WGSL dot4I8Packed' : undefined;
  }
  uploadInt8(w: Int8Matrix): Int8Id {
    return this.int8.upload(w);
  }
  releaseInt8(w: Int8Id): void {
    this.int8.release(w);
  }
  int8Matmul(x: TensorRef, w: Int8Id, dir: Int8Direction, bias: TensorRef | undefined): DataId {
    this.float('int8Matmul', x, ...(bias ? [bias] : []));
    return this.int8.matmul(x, w, dir, bias);
  }

  // ---------------- data movement ----------------
  strided(x: TensorRef, outShape: Shape, strides: readonly number[], offset: number): DataId {
    this.dt('strided', x);
    return this.exec1(stridedProgram(x.dtype, outShape, strides, offset), [x], sizeOf(outShape));
  }
  pad(x: TensorRef, before: readonly number[], after: readonly number[], value: number): DataId {
    this.dt('pad', x);
    const n = sizeOf(x.shape.map((d, i) => d + before[i]! + after[i]!));
    return this.exec1(padProgram(x.dtype, x.shape, before, after, value), [x], n);
  }
  concat(xs: readonly TensorRef[], axis: number, outShape: Shape): DataId {
    this.dt('concat', ...xs);
    const dtype = xs[0]!.dtype;
    const out = this.rt.alloc(sizeOf(outShape) * BYTES);
    const outer = sizeOf(outShape.slice(0, axis));
    const inner = sizeOf(outShape.slice(axis + 1));
    let pos = 0;
    for (const x of xs) {
      const chunk = x.shape[axis]! * inner;
      this.rt.run(concatPartProgram(dtype, outer, chunk, outShape[axis]! * inner, pos), [x.id], [out]);
      pos += chunk;
    }
    return out;
  }
  gather(table: TensorRef, indices: TensorRef): DataId {
    return this.rows('gather', table, indices);
  }
  takeRows(table: TensorRef, indices: TensorRef): DataId {
    return this.rows('takeRows', table, indices);
  }
  private rows(op: 'gather' | 'takeRows', table: TensorRef, indices: TensorRef): DataId {
    this.dt(op, table, indices);
    const row = sizeOf(table.shape.slice(1)),
      nIdx = sizeOf(indices.shape);
    return this.exec1(
      gatherProgram(table.dtype, table.shape[0]!, row, nIdx, op === 'takeRows'),
      [table, indices],
      nIdx * row,
    );
  }
  scatterAdd(indices: TensorRef, updates: TensorRef, numRows: number): DataId {
    this.dt('scatterAdd', indices, updates);
    const row = sizeOf(updates.shape.slice(indices.shape.length));
    return this.exec1(
      scatterAddProgram(updates.dtype, numRows, row, sizeOf(indices.shape)),
      [indices, updates],
      numRows * row,
    );
  }
  oneHot(indices: TensorRef, depth: number, dtype: DType): DataId {
    this.dt('oneHot', indices, { dtype });
    const n = sizeOf(indices.shape);
    return this.exec1(oneHotProgram(dtype, n, depth), [indices], n * depth);
  }

  // ---------------- fused ----------------
  private rowsCols(x: TensorRef): [number, number] {
    const C = x.shape.at(-1) ?? 1;
    return [C === 0 ? 0 : sizeOf(x.shape) / C, C];
  }
  private float(op: string, ...refs: readonly TensorRef[]): void {
    for (const r of refs) if (r.dtype !== 'f32') throw new UnsupportedOp(op, 'webgpu', `dtype ${r.dtype}`);
  }
  softmax(x: TensorRef): DataId {
    this.float('softmax', x);
    return this.exec1(softmaxProgram(...this.rowsCols(x), false), [x], sizeOf(x.shape));
  }
  logSoftmax(x: TensorRef): DataId {
    this.float('logSoftmax', x);
    return this.exec1(softmaxProgram(...this.rowsCols(x), true), [x], sizeOf(x.shape));
  }
  layerNorm(x: TensorRef, w: TensorRef, b: TensorRef, eps: number) {
    this.float('layerNorm', x, w, b);
    const [R, C] = this.rowsCols(x);
    const [y, mean, rstd] = this.exec(layerNormProgram(R, C, eps), [x, w, b], [R * C, R, R]) as [
      DataId,
      DataId,
      DataId,
    ];
    return { y, mean, rstd };
  }
  layerNormBackward(dy: TensorRef, x: TensorRef, w: TensorRef, mean: TensorRef, rstd: TensorRef) {
    const dx = this.layerNormBackwardDx(dy, x, w, mean, rstd);
    const [R, C] = this.rowsCols(x);
    const [dWeight, dBias] = this.exec(layerNormDwProgram(R, C), [dy, x, mean, rstd], [C, C]) as [DataId, DataId];
    return { dx, dWeight, dBias };
  }
  layerNormBackwardDx(dy: TensorRef, x: TensorRef, w: TensorRef, mean: TensorRef, rstd: TensorRef): DataId {
    this.float('layerNormBackwardDx', dy, x, w, mean, rstd);
    const [R, C] = this.rowsCols(x);
    return this.exec1(layerNormDxProgram(R, C), [dy, x, w, mean, rstd], R * C);
  }
  crossEntropy(logits: TensorRef, labels: TensorRef, ignoreIndex: number, smoothing: number) {
    this.float('crossEntropy', logits);
    const [R, C] = this.rowsCols(logits);
    const [loss, lse] = this.exec(crossEntropyProgram(R, C, ignoreIndex, smoothing), [logits, labels], [R, R]) as [
      DataId,
      DataId,
    ];
    return { loss, lse };
  }
  crossEntropyBackward(
    dy: TensorRef,
    logits: TensorRef,
    labels: TensorRef,
    lse: TensorRef,
    ignoreIndex: number,
    smoothing: number,
  ): DataId {
    this.float('crossEntropyBackward', dy, logits, lse);
    const [R, C] = this.rowsCols(logits);
    return this.exec1(crossEntropyBackwardProgram(R, C, ignoreIndex, smoothing), [dy, logits, labels, lse], R * C);
  }

  private attnShape(op: string, q: TensorRef, k: TensorRef, bias: TensorRef | undefined): AttnShape {
    const [B, H, Tq, Dh] = q.shape as [number, number, number, number];
    if (Dh > MAX_DH) throw new UnsupportedOp(op, 'webgpu', `head size ${Dh} > ${MAX_DH}`);
    return { B, H, Tq, Tk: k.shape[2]!, Dh, biasStrides: bias && biasStrides(bias.shape) };
  }
  attention(q: TensorRef, k: TensorRef, v: TensorRef, bias: TensorRef | undefined, scale: number) {
    this.float('attention', q, k, v, ...(bias ? [bias] : []));
    const s = this.attnShape('attention', q, k, bias);
    const ins = bias ? [q, k, v, bias] : [q, k, v];
    const [out, lse] = this.exec(attentionForwardProgram(s, scale), ins, [sizeOf(q.shape), s.B * s.H * s.Tq]) as [
      DataId,
      DataId,
    ];
    return { out, lse };
  }
  /** prep (D, shift) → dq (+ 1/r into stats) → dk, dv; the stats buffer is freed after encoding. */
  attentionBackward(
    dOut: TensorRef,
    q: TensorRef,
    k: TensorRef,
    v: TensorRef,
    bias: TensorRef | undefined,
    out: TensorRef,
    lse: TensorRef,
    scale: number,
  ) {
    this.float('attentionBackward', dOut, q, k, v, out, lse, ...(bias ? [bias] : []));
    const s = this.attnShape('attentionBackward', q, k, bias);
    const stats = this.exec1(attentionPrepProgram(s), [dOut, out, lse], s.B * s.H * s.Tq * 3);
    const qkvb = (bias ? [q, k, v, bias] : [q, k, v]).map((r) => r.id);
    const dq = this.rt.alloc(sizeOf(q.shape) * BYTES);
    this.rt.run(attentionDqProgram(s, scale), [...qkvb, dOut.id], [stats, dq]);
    const [dk, dv] = [this.rt.alloc(sizeOf(k.shape) * BYTES), this.rt.alloc(sizeOf(k.shape) * BYTES)];
    this.rt.run(attentionDkvProgram(s, scale), [...qkvb, dOut.id, stats], [dk, dv]);
    this.rt.decRef(stats);
    return { dq, dk, dv };
  }

  // ---------------- optimiser ----------------
  adamw(param: TensorRef, grad: TensorRef, m: TensorRef, v: TensorRef, h: AdamWHyper): void {
    this.float('adamw', param, grad, m, v);
    this.rt.run(adamwProgram(sizeOf(param.shape), h), [grad.id], [param.id, m.id, v.id]);
  }
}

export async function createWebGpuBackend(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
  const { device, info, owners, int8 } = await acquireDevice(opts);
  return new WebGpuBackend(device, info, opts, owners, int8);
}
