/**
 * The WASM backend: the CPU reference backend with its hot f32 kernels replaced by WebAssembly SIMD
 * microkernels that TypeScript emits at start-up (encoder.ts, kernels.ts), run on node:worker_threads
 * over one shared memory. f32 storages this backend creates are Float32Array views into that memory
 * (heap-backend.ts), so the reference kernels read them unchanged while the fast kernels use them in
 * place (operands from elsewhere are copied in per call). f64, i32 and every kernel not overridden
 * here run the inherited reference.
 */
import type { BinaryOp, DataId, Int8Id, MatmulOptions, TensorRef, UnaryOp } from '../backend.ts';
import type { Int8Direction, Int8Matrix } from '../../tensor/int8.ts';
import { sizeOf, type Shape } from '../../tensor/shape.ts';
import { attentionBackward, attentionForward, attnDims } from './attention-ops.ts';
import { BINARY_WASM, binaryChunks, type WasmBinaryOp } from './elementwise.ts';
import { matmulInto } from './gemm-run.ts';
import { PARALLEL_MIN_ELEMS, WasmHeapBackend, type WasmOptions } from './heap-backend.ts';
import { Int8Store } from '../cpu/int8.ts';
import { INT8_DOT_NAMES } from './int8-kernel.ts';
import { int8ProductInto, uploadInt8, type Int8Resident } from './int8-run.ts';
import { FN } from './kernels.ts';
import { broadcastRows, chunk } from './layout.ts';
import { layerNormForward } from './layernorm.ts';
import { layerNormBackward } from './layernorm-backward.ts';
import { copyRowsAt, scatterSources, sourceRows } from './rows.ts';
import { stridedCopy } from './strided.ts';

export type { WasmOptions };

export class WasmBackend extends WasmHeapBackend {
  override readonly name = 'wasm' as never as 'cpu'; // BackendName 'wasm'; the cast keeps CpuBackend's literal type happy

  override matmul(a: TensorRef, b: TensorRef, opts: MatmulOptions, outShape: Shape): DataId {
    if (a.dtype !== 'f32') return super.matmul(a, b, opts, outShape);
    const out = this.output(sizeOf(outShape));
    this.call((input, scratch) =>
      matmulInto(this.gemmHost(input, scratch), a, b, opts, outShape, out.ptr, opts.bias && this.f32(opts.bias)),
    );
    return out.id();
  }

  /** int8 weights: packed into the heap once (both directions), the oracle's host copy not kept. */
  private readonly int8Weights = new Map<Int8Id, Int8Resident>();
  private nextInt8 = 1;

  override get int8Kernel(): string {
    return INT8_DOT_NAMES[this.int8Dot];
  }
  override uploadInt8(w: Int8Matrix): Int8Id {
    Int8Store.check(w);
    const heap = this.heap,
      id = this.nextInt8++;
    // the views are read after every alloc: an alloc that grows the memory detaches the old ones
    const into = {
      alloc: (b: number) => heap.alloc(b),
      get u8() {
        return heap.u8;
      },
      get f32() {
        return heap.f32;
      },
    };
    this.int8Weights.set(id, uploadInt8(into, w));
    return id;
  }
  override releaseInt8(w: Int8Id): void {
    const r = this.int8Weights.get(w);
    if (!r) throw new Error(`int8 weight #${w} was already released (or never uploaded to this backend)`);
    this.int8Weights.delete(w);
    for (const [p, b] of r.blocks) this.heap.free(p, b);
  }
  override int8Matmul(x: TensorRef, w: Int8Id, dir: Int8Direction, bias: TensorRef | undefined): DataId {
    const r = this.int8Weights.get(w);
    if (!r) throw new Error(`int8 weight #${w} was already released (or never uploaded to this backend)`);
    const inner = dir === 'forward' ? r.K : r.N,
      outer = dir === 'forward' ? r.N : r.K;
    if (x.dtype !== 'f32' || x.shape.length !== 2 || x.shape[1] !== inner)
      throw new TypeError(`int8Matmul (${dir}): want f32 [M, ${inner}], got ${x.dtype} [${x.shape.join(', ')}]`);
    const M = x.shape[0]!,
      out = this.output(M * outer);
    this.call((input, scratch) => {
      let biasP: number | undefined;
      if (bias) {
        biasP = scratch(4 * (outer + 4)); // whole panels: the kernel reads the bias 4 columns at a time
        this.heap.f32.fill(0, biasP >>> 2, (biasP >>> 2) + outer + 4);
        this.heap.f32.set(this.f32(bias), biasP >>> 2);
      }
      int8ProductInto(this.host(input, scratch), this.int8Dot, this.threads, r, dir, input(x), M, out.ptr, biasP);
    });
    return out.id();
  }

  override gather(table: TensorRef, indices: TensorRef): DataId {
    if (table.dtype !== 'f32') return super.gather(table, indices);
    return this.rowsOf(table, sourceRows(this.view(indices), table.shape, 'gather'));
  }

  override takeRows(table: TensorRef, indices: TensorRef): DataId {
    if (table.dtype !== 'f32') return super.takeRows(table, indices);
    return this.rowsOf(table, sourceRows(this.view(indices), table.shape, 'takeRows'));
  }

  override scatterAdd(indices: TensorRef, updates: TensorRef, numRows: number): DataId {
    const src = scatterSources(this.view(indices), numRows);
    // repeated rows: the reference's f64 sum (a copy cannot add them)
    if (updates.dtype !== 'f32' || !src) return super.scatterAdd(indices, updates, numRows);
    // updates are [...indices.shape, ...row]: one update row per index, so the leading axes are the
    // indices' (not updates' rank − indices' rank, which agrees only for [N] indices of [N, d] rows: a
    // gather by [B, S] indices scattered its gradient as rows of S·d floats read past the updates)
    return this.rowsOf(updates, src, indices.shape.length);
  }

  /** Out row i = row src[i] of x (rows: x's first `lead` axes), or zeros where src[i] = −1: one copy_rows job. */
  private rowsOf(x: TensorRef, src: Int32Array, lead = 1): DataId {
    const row = sizeOf(x.shape.slice(lead)),
      out = this.output(src.length * row);
    this.call((input, scratch) => {
      if (src.length * row === 0) return;
      const zeroP = scratch(4 * row),
        xP = sizeOf(x.shape) > 0 ? input(x) : zeroP;
      this.heap.f32.fill(0, zeroP >>> 2, (zeroP >>> 2) + row);
      // a plain loop: TypedArray.prototype.map with a closure cost ~10 ns an element, half of a 2480-row move
      const offs = new Int32Array(src.length),
        zeroOff = (zeroP - xP) >> 2;
      for (let i = 0; i < src.length; i++) {
        const s = src[i]!;
        offs[i] = s < 0 ? zeroOff : s * row;
      }
      copyRowsAt(this.host(input, scratch), xP, out.ptr, offs, row);
    });
    return out.id();
  }

  override strided(x: TensorRef, outShape: Shape, strides: readonly number[], offset: number): DataId {
    if (x.dtype !== 'f32') return super.strided(x, outShape, strides, offset);
    const n = sizeOf(outShape),
      out = this.output(n),
      src = this.f32(x);
    if (n === 0) return out.id();
    // the kernel needs the source in the heap; copying a view's whole source there would cost more than it saves
    const fast = n >= PARALLEL_MIN_ELEMS && this.heap.owns(src);
    this.call((input, scratch) =>
      stridedCopy(
        src,
        this.heap.view(out.ptr, n),
        outShape,
        strides,
        offset,
        fast ? { host: this.host(input, scratch), srcP: src.byteOffset, outP: out.ptr } : undefined,
      ),
    );
    return out.id();
  }

  override unary(op: UnaryOp, x: TensorRef): DataId {
    if (x.dtype !== 'f32' || (op !== 'gelu' && op !== 'geluGrad')) return super.unary(op, x);
    const n = sizeOf(x.shape);
    const padded = (n + 3) & ~3;
    const kept = op === 'geluGrad' ? this.derived.take(x.id, 'geluGrad') : undefined;
    if (kept) return this.own(kept.ptr, kept.bytes, n); // the forward's derivative becomes this result's storage, no copy
    const out = this.output(n, 4 * (padded - n)); // gelu reads and writes whole v128s
    // GELU also writes its derivative for the backward (same erf and exp), kept on the input's storage
    const gradBytes = 4 * padded,
      gradP = op === 'gelu' && this.owned.has(x.id) ? this.heap.tryAlloc(gradBytes, this.outputHeapBytes) : undefined;
    this.call((input) => {
      const inPtr = input(x);
      const nt = this.chunks(n, padded >> 2);
      this.pool.run(
        gradP !== undefined ? FN.gelu_both : op === 'gelu' ? FN.gelu : FN.gelu_grad,
        Array.from({ length: nt }, (_, t) => {
          const lo = chunk(padded, t, nt),
            hi = chunk(padded, t + 1, nt);
          return gradP !== undefined
            ? [inPtr + 4 * lo, out.ptr + 4 * lo, gradP + 4 * lo, hi - lo]
            : [inPtr + 4 * lo, out.ptr + 4 * lo, hi - lo];
        }),
      );
    });
    if (gradP !== undefined) this.derived.attach(x.id, 'geluGrad', { ptr: gradP, bytes: gradBytes, n });
    return out.id();
  }

  override binary(op: BinaryOp, a: TensorRef, b: TensorRef, outShape: Shape): DataId {
    if (a.dtype !== 'f32' || !(BINARY_WASM as readonly string[]).includes(op)) return super.binary(op, a, b, outShape);
    const total = sizeOf(outShape);
    const out = this.output(total);
    if (total === 0) return out.id();
    const fn = FN[`binary_${op as WasmBinaryOp}`];
    this.call((input, scratch) => {
      const aPtr = input(a),
        bPtr = input(b);
      const { rows, n, inner, offsets } = broadcastRows(outShape, a.shape, b.shape);
      const offPtr = scratch(4 * offsets.length);
      this.heap.i32.set(offsets, offPtr >>> 2);
      this.pool.run(
        fn,
        binaryChunks(aPtr, bPtr, out.ptr, offPtr, rows, n, inner, this.chunks(total, rows === 1 ? n >> 2 : rows)),
      );
    });
    return out.id();
  }

  override attention(q: TensorRef, k: TensorRef, v: TensorRef, bias: TensorRef | undefined, scale: number) {
    if (q.dtype !== 'f32') return super.attention(q, k, v, bias, scale);
    const d = attnDims(q, k),
      R = d.B * d.H * d.Tq;
    const out = this.output(R * d.Dh),
      lse = this.output(R);
    // P stays for the backward (saves its QKᵀ and softmax), held as long as lse, which the backward also reads
    const probsBytes = 4 * R * d.Tk,
      probsP = R * d.Dh * d.Tk > 0 ? this.heap.tryAlloc(probsBytes, this.outputHeapBytes) : undefined;
    if (R * d.Dh > 0)
      this.call((input, scratch) =>
        attentionForward(this.gemmHost(input, scratch), d, q, k, v, bias, scale, out.ptr, lse.ptr, probsP),
      );
    if (d.Tk === 0) {
      this.heap.f32.fill(0, out.ptr >>> 2, (out.ptr >>> 2) + R * d.Dh);
      this.heap.f32.fill(-Infinity, lse.ptr >>> 2, (lse.ptr >>> 2) + R);
    }
    const lseId = lse.id();
    if (probsP !== undefined) {
      if (this.owned.has(lseId)) this.derived.attach(lseId, 'probs', { ptr: probsP, bytes: probsBytes, n: R * d.Tk });
      else this.heap.free(probsP, probsBytes);
    }
    return { out: out.id(), lse: lseId };
  }

  override attentionBackward(
    dOut: TensorRef,
    q: TensorRef,
    k: TensorRef,
    v: TensorRef,
    bias: TensorRef | undefined,
    out: TensorRef,
    lse: TensorRef,
    scale: number,
  ) {
    if (q.dtype !== 'f32') return super.attentionBackward(dOut, q, k, v, bias, out, lse, scale);
    const d = attnDims(q, k),
      BH = d.B * d.H;
    const dq = this.output(BH * d.Tq * d.Dh),
      dk = this.output(BH * d.Tk * d.Dh),
      dv = this.output(BH * d.Tk * d.Dh);
    if (BH * d.Tq * d.Tk * d.Dh > 0) {
      const saved = this.derived.get(lse.id, 'probs');
      const savedP = saved && saved.n === BH * d.Tq * d.Tk ? saved.ptr : undefined;
      this.call((input, scratch) =>
        attentionBackward(
          this.gemmHost(input, scratch),
          d,
          dOut,
          q,
          k,
          v,
          bias,
          out,
          lse,
          scale,
          dq.ptr,
          dk.ptr,
          dv.ptr,
          savedP,
        ),
      );
    } else {
      for (const [o, n] of [
        [dq, d.Tq],
        [dk, d.Tk],
        [dv, d.Tk],
      ] as const)
        this.heap.f32.fill(0, o.ptr >>> 2, (o.ptr >>> 2) + BH * n * d.Dh);
    }
    return { dq: dq.id(), dk: dk.id(), dv: dv.id() };
  }

  override layerNorm(x: TensorRef, w: TensorRef, b: TensorRef, eps: number) {
    const C = x.shape.at(-1) ?? 1,
      R = C === 0 ? 0 : sizeOf(x.shape) / C;
    if (x.dtype !== 'f32' || R === 0) return super.layerNorm(x, w, b, eps);
    const y = this.output(R * C),
      mean = this.output(R),
      rstd = this.output(R);
    this.call((input, scratch) =>
      layerNormForward(this.host(input, scratch), x, w, b, eps, R, C, y.ptr, mean.ptr, rstd.ptr),
    );
    return { y: y.id(), mean: mean.id(), rstd: rstd.id() };
  }

  override layerNormBackward(dy: TensorRef, x: TensorRef, w: TensorRef, mean: TensorRef, rstd: TensorRef) {
    const C = x.shape.at(-1) ?? 1,
      R = C === 0 ? 0 : sizeOf(x.shape) / C;
    if (x.dtype !== 'f32' || R === 0) return super.layerNormBackward(dy, x, w, mean, rstd);
    const dx = this.output(R * C),
      dWeight = this.output(C),
      dBias = this.output(C);
    this.call((input, scratch) =>
      layerNormBackward(this.host(input, scratch), dy, x, w, mean, rstd, R, C, dx.ptr, {
        dwP: dWeight.ptr,
        dbP: dBias.ptr,
      }),
    );
    return { dx: dx.id(), dWeight: dWeight.id(), dBias: dBias.id() };
  }

  override layerNormBackwardDx(dy: TensorRef, x: TensorRef, w: TensorRef, mean: TensorRef, rstd: TensorRef): DataId {
    const C = x.shape.at(-1) ?? 1,
      R = C === 0 ? 0 : sizeOf(x.shape) / C;
    if (x.dtype !== 'f32' || R === 0) return super.layerNormBackwardDx(dy, x, w, mean, rstd);
    const dx = this.output(R * C);
    this.call((input, scratch) => layerNormBackward(this.host(input, scratch), dy, x, w, mean, rstd, R, C, dx.ptr));
    return dx.id();
  }
}

export const createWasmBackend = (opts: WasmOptions = {}): WasmBackend => new WasmBackend(opts);
