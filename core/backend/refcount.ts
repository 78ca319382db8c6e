/** Reference-counted storage table shared by the backends: ids handed to tensors, payloads kept here. */
import type { DataId } from './backend.ts';

export class RefCounted<T> {
  private readonly entries = new Map<DataId, { payload: T; refs: number }>();
  private nextId = 1;

  /** `owner` names the backend in error messages. */
  constructor(private readonly owner: string) {}

  add(payload: T): DataId {
    const id = this.nextId++;
    this.entries.set(id, { payload, refs: 1 });
    return id;
  }

  get(id: DataId): T {
    const e = this.entries.get(id);
    if (!e) throw new Error(`${this.owner}: storage ${id} does not exist (used after dispose?)`);
    return e.payload;
  }

  incRef(id: DataId): void {
    const e = this.entries.get(id);
    if (!e) throw new Error(`${this.owner}: incRef on freed storage ${id}`);
    e.refs++;
  }

  /** Drops one reference; returns the payload when that was the last one (for the caller to recycle). */
  decRef(id: DataId): T | undefined {
    const e = this.entries.get(id);
    if (!e) throw new Error(`${this.owner}: decRef on freed storage ${id}`);
    if (--e.refs > 0) return undefined;
    this.entries.delete(id);
    return e.payload;
  }

  get live(): number {
    return this.entries.size;
  }

  *values(): IterableIterator<T> {
    for (const e of this.entries.values()) yield e.payload;
  }

  clear(): void {
    this.entries.clear();
  }
}
