/**
 * Threads for the WASM kernels: every worker instantiates the same compiled module over one shared
 * WebAssembly.Memory. A job is a function index plus per-thread i32 arguments in a small shared
 * control block; workers sleep in Atomics.wait (no spinning: the cores may be shared), the calling
 * thread runs share 0 itself and then waits for the others' completion count.
 */
import { Worker } from 'node:worker_threads';
import { WA, type WasmMemory, type WasmModule } from './wasm-api.ts';

/** Control block (Int32Array): [generation, done, fn, nargs, failed, args of thread 0, args of thread 1, …]. */
const GEN = 0, DONE = 1, FN = 2, NARGS = 3, FAILED = 4, ARGS = 5;
export const MAX_ARGS = 32;

// Plain JS run with `eval: true` (workers cannot load .ts without the loader). CommonJS scope.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, tid, names, maxArgs } = workerData;
const c = new Int32Array(ctrl);
let fns = [];
try {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  fns = names.map((n) => inst.exports[n]);
} catch (e) { console.error('wasm worker', tid, e); Atomics.store(c, ${FAILED}, 1); }
let gen = 0;
for (;;) {
  Atomics.wait(c, ${GEN}, gen);
  gen = Atomics.load(c, ${GEN});
  const fn = c[${FN}];
  if (fn < 0) break;
  const n = c[${NARGS}], base = ${ARGS} + tid * maxArgs;
  const args = new Array(n);
  for (let i = 0; i < n; i++) args[i] = c[base + i];
  // a failed share still counts as done (the caller must never wait forever); the flag reports it
  try { fns[fn](...args); } catch (e) { console.error('wasm worker', tid, e); Atomics.store(c, ${FAILED}, 1); }
  Atomics.add(c, ${DONE}, 1);
  Atomics.notify(c, ${DONE});
}
`;

export type KernelFn = (...args: number[]) => void;

export class ThreadPool {
  private readonly ctrl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly local: KernelFn[];

  constructor(module: WasmModule, memory: WasmMemory, readonly names: readonly string[], readonly threads: number) {
    this.ctrl = new Int32Array(new SharedArrayBuffer(4 * (ARGS + threads * MAX_ARGS)));
    const inst = new WA.Instance(module, { env: { memory } });
    this.local = names.map((n) => inst.exports[n] as KernelFn);
    for (let tid = 1; tid < threads; tid++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, ctrl: this.ctrl.buffer, tid, names, maxArgs: MAX_ARGS } });
      w.unref(); // a pool left undisposed must not keep the process alive
      this.workers.push(w);
    }
  }

  /** Runs function `fn` on `shares.length` (≤ threads) threads, share i with args shares[i]; blocks until all finish. */
  run(fn: number, shares: readonly (readonly number[])[]): void {
    const n = shares.length;
    if (n === 0) return;
    if (n === 1 || this.workers.length === 0) { for (const s of shares) this.local[fn]!(...s); return; }
    const c = this.ctrl;
    const nargs = shares[0]!.length;
    c[FN] = fn; c[NARGS] = nargs;
    // threads beyond `n` get an empty share: the same args with the item range collapsed is kernel-specific,
    // so callers always pass exactly `threads` shares when n > 1
    for (let t = 0; t < this.threads; t++) {
      const s = shares[Math.min(t, n - 1)]!;
      for (let i = 0; i < nargs; i++) c[ARGS + t * MAX_ARGS + i] = s[i]!;
    }
    if (n !== this.threads) throw new Error(`ThreadPool.run: ${n} shares for ${this.threads} threads`);
    Atomics.store(c, DONE, 0);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    this.local[fn]!(...shares[0]!);
    const others = this.threads - 1;
    for (let d = Atomics.load(c, DONE); d < others; d = Atomics.load(c, DONE)) Atomics.wait(c, DONE, d);
    if (Atomics.load(c, FAILED) !== 0) throw new Error(`wasm backend: a worker failed running ${this.names[fn]} (see stderr)`);
  }

  dispose(): void {
    if (this.workers.length === 0) return;
    this.ctrl[FN] = -1;
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    for (const w of this.workers.splice(0)) void w.terminate();
  }
}
