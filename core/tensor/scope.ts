/**
 * Scoped memory (tfjs `tidy` in spirit): every tensor created while a scope is open is disposed when
 * the scope ends, unless it is part of the scope's result (then it moves to the parent scope) or was
 * `keep`-ed. Each backend owns its own stack, so there is no process-wide state.
 */
export interface Disposable_ {
  dispose(): void;
  readonly isDisposed: boolean;
}

export class ScopeStack {
  private readonly frames: Set<Disposable_>[] = [];

  get depth(): number {
    return this.frames.length;
  }

  track(t: Disposable_): void {
    this.frames.at(-1)?.add(t);
  }

  begin(): void {
    this.frames.push(new Set());
  }

  /** Ends the innermost scope, disposing what it tracked except `survivors`, which move up one level. */
  end(survivors: ReadonlySet<Disposable_>): void {
    const frame = this.frames.pop();
    if (!frame) throw new Error('scope: end() without a matching begin()');
    const parent = this.frames.at(-1);
    for (const t of frame) {
      if (survivors.has(t)) parent?.add(t);
      else t.dispose();
    }
  }

  /** Removes `t` from every open scope so that no scope end disposes it. */
  keep<T extends Disposable_>(t: T): T {
    for (const f of this.frames) f.delete(t);
    return t;
  }
}
