/** The CPU backend's int8 frozen weights: a table of host Int8Matrix by id, and the oracle's entry point. */
import type { Int8Id, TensorRef } from '../backend.ts';
import { int8ProductRef, type Int8Direction, type Int8Matrix } from '../../tensor/int8.ts';
import type { AnyTypedArray } from '../../tensor/dtype.ts';
import { fmt } from '../../tensor/shape.ts';

export class Int8Store {
  private readonly weights = new Map<Int8Id, Int8Matrix>();
  private next = 1;

  /** Throws unless the codes and scales make a [rows, cols] weight. */
  static check(w: Int8Matrix): void {
    if (w.q.length !== w.rows * w.cols || w.scale.length !== w.rows)
      throw new RangeError(
        `uploadInt8: ${w.q.length} codes and ${w.scale.length} scales do not make a [${w.rows}, ${w.cols}] weight`,
      );
  }
  add(w: Int8Matrix): Int8Id {
    Int8Store.check(w);
    const id = this.next++;
    this.weights.set(id, w);
    return id;
  }
  get(id: Int8Id): Int8Matrix {
    const w = this.weights.get(id);
    if (!w) throw new Error(`int8 weight #${id} was already released (or never uploaded to this backend)`);
    return w;
  }
  release(id: Int8Id): void {
    this.get(id);
    this.weights.delete(id);
  }
  get size(): number {
    return this.weights.size;
  }

  /** Checks x against the weight (the front end checks too; this guards direct backend calls) and runs the oracle. */
  reference(
    data: AnyTypedArray,
    x: TensorRef,
    w: Int8Matrix,
    dir: Int8Direction,
    bias: AnyTypedArray | undefined,
  ): Float32Array {
    const inner = dir === 'forward' ? w.cols : w.rows;
    if (x.dtype !== 'f32' || x.shape.length !== 2 || x.shape[1] !== inner)
      throw new TypeError(`int8Matmul (${dir}): want f32 [M, ${inner}], got ${x.dtype} ${fmt(x.shape)}`);
    return int8ProductRef(data, x.shape[0]!, w, dir, bias);
  }
}
