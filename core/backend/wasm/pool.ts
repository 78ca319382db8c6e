/**
 * Threads for the WASM kernels: every worker instantiates the same compiled module over one shared
 * WebAssembly.Memory. A job is a function index plus a list of chunks (one i32 argument vector
 * each) in a shared control block. The calling thread and the workers claim chunks from one atomic
 * ticket, so when the cores are shared and a worker wakes late, the caller simply does more of the
 * work instead of waiting for it. Workers spin WORKER_SPIN_MS for the next job, then sleep in Atomics.wait; the caller spins up
 * to SPIN_MS on chunks still running before it sleeps.
 *
 * Ticket word = (generation << 8) | next chunk; a claim is a compareExchange on it, so a worker that
 * read a stale job's arguments can never run them (its claim fails). Arguments are double-buffered by
 * generation parity: job g+1 is written only after every chunk of job g has completed.
 */
import { Worker } from 'node:worker_threads';
import { WA, type WasmMemory, type WasmModule } from './wasm-api.ts';

export const MAX_ARGS = 18;
export const MAX_CHUNKS = 255;
const TICKET = 0,
  COMPLETED = 1,
  QUIT = 2,
  FAILED = 3,
  HEADER = 4;
/** The caller's spin bound (ms) on chunks still running: past it, a worker is likely descheduled. */
const SPIN_MS = 1;
/**
 * A worker's spin bound (ms) for the next job once its chunks are done: a step's kernels come 10–100 µs
 * apart, and a worker woken from Atomics.wait starts 40–400 µs late (the bert-small step: 5–10 % faster).
 */
const WORKER_SPIN_MS = 0.5;
// per parity slot: fn, nChunks, then nChunks × MAX_ARGS
const SLOT = 2 + MAX_CHUNKS * MAX_ARGS;

/** The claim loop, shared verbatim by the caller and the workers (plain JS: workers run it from source). */
const CLAIM_SOURCE = `function claim(c, gen, fns, nargs) {
  for (;;) {
    const t = Atomics.load(c, ${TICKET});
    if ((t >>> 8) !== (gen & 0xffffff)) return;
    const slot = ${HEADER} + (gen & 1) * ${SLOT};
    const fn = c[slot], n = c[slot + 1], i = t & 255;
    if (i >= n) return;
    const base = slot + 2 + i * ${MAX_ARGS}, k = nargs[fn];
    const args = new Array(k);
    for (let j = 0; j < k; j++) args[j] = c[base + j];
    if (Atomics.compareExchange(c, ${TICKET}, t, t + 1) !== t) continue;
    try { fns[fn](...args); } catch (e) { console.error('wasm kernel', e); Atomics.store(c, ${FAILED}, 1); }
    if (Atomics.add(c, ${COMPLETED}, 1) + 1 === n) Atomics.notify(c, ${COMPLETED});
  }
}`;

// Plain JS run with \`eval: true\` (workers cannot load .ts without the loader). CommonJS scope.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, names, nargs } = workerData;
const c = new Int32Array(ctrl);
${CLAIM_SOURCE}
let fns = [];
try {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  fns = names.map((n) => inst.exports[n]);
} catch (e) { console.error('wasm worker', e); Atomics.store(c, ${FAILED}, 1); }
let seen = Atomics.load(c, ${TICKET});
for (;;) {
  for (const until = performance.now() + ${WORKER_SPIN_MS}; Atomics.load(c, ${TICKET}) === seen && performance.now() < until;) { /* spin */ }
  Atomics.wait(c, ${TICKET}, seen);
  if (Atomics.load(c, ${QUIT})) break;
  seen = Atomics.load(c, ${TICKET});
  claim(c, seen >>> 8, fns, nargs);
}
`;

type ClaimFn = (
  c: Int32Array,
  gen: number,
  fns: readonly ((...a: number[]) => void)[],
  nargs: readonly number[],
) => void;
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the same source the workers run
const claim = (new Function(`${CLAIM_SOURCE}; return claim;`) as () => ClaimFn)();

export type KernelFn = (...args: number[]) => void;

export class ThreadPool {
  private readonly ctrl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly local: KernelFn[];
  private gen = 0;

  /** `nargs[i]`: the i32 argument count of kernel `names[i]`. */
  constructor(
    module: WasmModule,
    memory: WasmMemory,
    readonly names: readonly string[],
    private readonly nargs: readonly number[],
    readonly threads: number,
  ) {
    this.ctrl = new Int32Array(new SharedArrayBuffer(4 * (HEADER + 2 * SLOT)));
    const inst = new WA.Instance(module, { env: { memory } });
    this.local = names.map((n) => inst.exports[n] as KernelFn);
    for (let t = 1; t < threads; t++) {
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, memory, ctrl: this.ctrl.buffer, names, nargs },
      });
      w.unref(); // a pool left undisposed must not keep the process alive
      this.workers.push(w);
    }
  }

  /** Runs kernel `fn` once per chunk (argument vector), spread over the threads; returns when all are done. */
  run(fn: number, chunks: readonly (readonly number[])[]): void {
    const n = chunks.length;
    if (n === 0) return;
    if (n === 1 || this.workers.length === 0) {
      for (const a of chunks) this.local[fn]!(...a);
      return;
    }
    if (n > MAX_CHUNKS) throw new RangeError(`ThreadPool.run: ${n} chunks (max ${MAX_CHUNKS})`);
    const c = this.ctrl,
      gen = (this.gen = (this.gen + 1) & 0xffffff);
    const slot = HEADER + (gen & 1) * SLOT;
    c[slot] = fn;
    c[slot + 1] = n;
    for (let i = 0; i < n; i++) c.set(chunks[i]!, slot + 2 + i * MAX_ARGS);
    Atomics.store(c, COMPLETED, 0);
    Atomics.store(c, TICKET, gen << 8);
    Atomics.notify(c, TICKET);
    claim(c, gen, this.local, this.nargs);
    // every chunk is claimed now, so those left are running on workers: spin a while before sleeping,
    // as a sleeping caller woke 40–60 µs after the worker's last chunk (measured on the bert-small step)
    for (const until = performance.now() + SPIN_MS; Atomics.load(c, COMPLETED) < n && performance.now() < until;) {
      /* spin */
    }
    for (let d = Atomics.load(c, COMPLETED); d < n; d = Atomics.load(c, COMPLETED)) Atomics.wait(c, COMPLETED, d);
    if (Atomics.load(c, FAILED) !== 0) {
      Atomics.store(c, FAILED, 0);
      throw new Error(`wasm backend: kernel ${this.names[fn]} failed (see stderr)`);
    }
  }

  dispose(): void {
    if (this.workers.length === 0) return;
    Atomics.store(this.ctrl, QUIT, 1);
    Atomics.add(this.ctrl, TICKET, 1 << 8);
    Atomics.notify(this.ctrl, TICKET);
    for (const w of this.workers.splice(0)) void w.terminate();
  }
}
