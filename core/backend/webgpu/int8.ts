/**
 * The WebGPU backend's int8 frozen weights (core/tensor/int8.ts) on WGSL's dot4I8Packed
 * (kernels/wgsl/int8.ts): each weight uploaded once as packed codes in both layouts (W [N, K] for
 * x·Wᵀ, Wᵀ [K, N] for the data path dy·W) and its per-channel scales; each product quantizes its rows
 * into a scratch buffer, then runs the integer GEMM. Without the WGSL language feature every call is
 * refused with UnsupportedOp naming it (no silent fallback; the run setup picks f16/f32 and says so).
 */
import { UnsupportedOp, type DataId, type Int8Id, type TensorRef } from '../backend.ts';
import { type Int8Direction, type Int8Matrix } from '../../tensor/int8.ts';
import { fmt } from '../../tensor/shape.ts';
import {
  INT8_WGSL_FEATURE,
  int8GemmProgram,
  int8QuantRowsProgram,
  packCodes,
  wordsOf,
} from '../../../kernels/wgsl/int8.ts';
import { Int8Store } from '../cpu/int8.ts';
import type { GpuRuntime } from './runtime.ts';

interface GpuInt8Weight {
  readonly N: number;
  readonly K: number;
  /** u32 codes [N, wordsOf(K)] and [K, wordsOf(N)]; f32 scales [N]. */
  readonly fwd: number;
  readonly bwd: number;
  readonly scale: number;
}

export class GpuInt8 {
  private readonly weights = new Map<Int8Id, GpuInt8Weight>();
  private next = 1;

  constructor(
    private readonly rt: GpuRuntime,
    /** Whether WGSL has dot4I8Packed on this platform (device.ts). */
    readonly available: boolean,
  ) {}

  /** Why int8 products are refused here, or undefined when they run. */
  get refusal(): string | undefined {
    return this.available
      ? undefined
      : `int8 weights need the WGSL language feature ${INT8_WGSL_FEATURE} (dot4I8Packed), which this WebGPU implementation lacks`;
  }

  private need(op: string): void {
    const why = this.refusal;
    if (why) throw new UnsupportedOp(op, 'webgpu', why);
  }

  upload(w: Int8Matrix): Int8Id {
    this.need('uploadInt8');
    Int8Store.check(w);
    const { rows: N, cols: K, q } = w;
    const fwd = packCodes(N, K, (n, k) => q[n * K + k]!),
      bwd = packCodes(K, N, (k, n) => q[n * K + k]!);
    const id = this.next++;
    this.weights.set(id, {
      N,
      K,
      fwd: this.rt.upload(fwd, fwd.byteLength),
      bwd: this.rt.upload(bwd, bwd.byteLength),
      scale: this.rt.upload(w.scale, w.scale.byteLength),
    });
    return id;
  }

  private get(id: Int8Id): GpuInt8Weight {
    const w = this.weights.get(id);
    if (!w) throw new Error(`int8 weight #${id} was already released (or never uploaded to this backend)`);
    return w;
  }

  release(id: Int8Id): void {
    const w = this.get(id);
    this.weights.delete(id);
    for (const b of [w.fwd, w.bwd, w.scale]) this.rt.decRef(b);
  }

  /** Live int8 weights (for leak checks). */
  get size(): number {
    return this.weights.size;
  }

  matmul(x: TensorRef, id: Int8Id, dir: Int8Direction, bias: TensorRef | undefined): DataId {
    this.need('int8Matmul');
    const w = this.get(id);
    const fwd = dir === 'forward';
    const inner = fwd ? w.K : w.N,
      outer = fwd ? w.N : w.K;
    if (x.dtype !== 'f32' || x.shape.length !== 2 || x.shape[1] !== inner)
      throw new TypeError(`int8Matmul (${dir}): want f32 [M, ${inner}], got ${x.dtype} ${fmt(x.shape)}`);
    if (bias && (!fwd || bias.dtype !== 'f32' || bias.shape.length !== 1 || bias.shape[0] !== outer))
      throw new TypeError(
        `int8Matmul (${dir}): bias ${bias.dtype} ${fmt(bias.shape)}, want f32 [${outer}], forward only`,
      );
    const M = x.shape[0]!,
      W = wordsOf(inner);
    const y = this.rt.alloc(Math.max(1, M * outer) * 4);
    if (M === 0 || outer === 0) return y;
    const codes = this.rt.alloc(M * W * 4),
      rowScale = this.rt.alloc(M * 4);
    this.rt.run(int8QuantRowsProgram(M, inner, !fwd), fwd ? [x.id] : [x.id, w.scale], [codes, rowScale]);
    const ins = [codes, fwd ? w.fwd : w.bwd, rowScale, ...(fwd ? [w.scale] : []), ...(bias ? [bias.id] : [])];
    this.rt.run(int8GemmProgram(M, outer, W, { colScale: fwd, bias: bias !== undefined }), ins, [y]);
    this.rt.decRef(codes);
    this.rt.decRef(rowScale);
    return y;
  }
}
