/**
 * Heap blocks a forward computes on the side for its backward, attached to a storage and freed with
 * it: attention's probabilities (on its lse), GELU's derivative (on its input). Storages never change,
 * so a block stays valid exactly as long as the storage it hangs on lives.
 */
import type { DataId } from '../backend.ts';

export type DerivedKind = 'probs' | 'geluGrad';
export interface HeapBlock {
  readonly ptr: number;
  readonly bytes: number;
  readonly n: number;
}

export class DerivedBlocks {
  private readonly blocks = new Map<DataId, Map<DerivedKind, HeapBlock>>();

  constructor(private readonly free: (b: HeapBlock) => void) {}

  /** Attaches `b` to storage `id` (a block of that kind already there is freed first). */
  attach(id: DataId, kind: DerivedKind, b: HeapBlock): void {
    const m = this.blocks.get(id) ?? new Map<DerivedKind, HeapBlock>();
    const old = m.get(kind);
    if (old) this.free(old);
    m.set(kind, b);
    this.blocks.set(id, m);
  }

  get(id: DataId, kind: DerivedKind): HeapBlock | undefined {
    return this.blocks.get(id)?.get(kind);
  }

  /** Detaches and returns the block: the caller owns it now. */
  take(id: DataId, kind: DerivedKind): HeapBlock | undefined {
    const b = this.get(id, kind);
    if (b) this.blocks.get(id)!.delete(kind);
    return b;
  }

  /** Storage `id` is gone: frees what hung on it. */
  release(id: DataId): void {
    for (const b of this.blocks.get(id)?.values() ?? []) this.free(b);
    this.blocks.delete(id);
  }
}
