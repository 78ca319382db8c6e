/** Reference-counted host storage shared by the CPU backend's kernels. */
import type { DataId } from '../backend.ts';
import type { AnyTypedArray } from '../../tensor/dtype.ts';

export class HostStorage {
  private readonly arrays = new Map<DataId, { arr: AnyTypedArray; refs: number }>();
  private nextId = 1;

  add(arr: AnyTypedArray): DataId {
    const id = this.nextId++;
    this.arrays.set(id, { arr, refs: 1 });
    return id;
  }

  get(id: DataId): AnyTypedArray {
    const e = this.arrays.get(id);
    if (!e) throw new Error(`cpu backend: storage ${id} does not exist (used after dispose?)`);
    return e.arr;
  }

  incRef(id: DataId): void {
    const e = this.arrays.get(id);
    if (!e) throw new Error(`cpu backend: incRef on freed storage ${id}`);
    e.refs++;
  }

  decRef(id: DataId): void {
    const e = this.arrays.get(id);
    if (!e) throw new Error(`cpu backend: decRef on freed storage ${id}`);
    if (--e.refs === 0) this.arrays.delete(id);
  }

  get live(): number { return this.arrays.size; }
}
