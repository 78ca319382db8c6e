/**
 * Square f32 matmul throughput on the CPU paths.
 *   node --import ./scripts/register.mjs bench/matmul-cpu.ts [--sizes 512,1024,2048] [--backends cpu,wasm1,wasm2] [--reps 5]
 * `wasmN` = the WASM backend with N threads; `wasmN:3x12` also picks the register tile (rows × columns),
 * to compare kernel shapes in one run. Reports the median GFLOP/s (2·n³ / time) over reps, and
 * checks each result against a float64 dot product on a few sampled entries.
 */
import { cpuBackend, tensor, matmul, type Backend } from '../core/index.ts';
import { createWasmBackend } from '../core/backend/wasm/index.ts';
import { arg, median } from './backends.ts';

const sizes = arg('sizes', '512,1024,2048').split(',').map(Number);
const names = arg('backends', 'cpu,wasm1,wasm2').split(',');
const reps = Number(arg('reps', '5'));

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

function wasmBackend(spec: string) {
  const [threads, tile] = spec.slice(4).split(':');
  const m = /^(\d+)x(\d+)$/.exec(tile ?? '');
  const gemm = m ? { mr: Number(m[1]), nr: Number(m[2]) } : {};
  return createWasmBackend({ threads: Number(threads) || 1, gemm });
}

for (const name of names) {
  const bk: Backend & { dispose?: () => void } = name === 'cpu' ? cpuBackend() : wasmBackend(name);
  for (const n of sizes) {
    // the reference at 2048 takes minutes: one rep there
    const r = name === 'cpu' && n >= 2048 ? 1 : name === 'cpu' && n >= 1024 ? Math.min(reps, 2) : reps;
    const A = rand(n * n, 1),
      B = rand(n * n, 2);
    const a = tensor(bk, A, { shape: [n, n] }),
      b = tensor(bk, B, { shape: [n, n] });
    const times: number[] = [];
    let out: Float32Array | undefined;
    for (let i = 0; i < r + 1; i++) {
      const t0 = performance.now();
      const c = matmul(a, b);
      const dt = performance.now() - t0;
      if (i > 0 || r === 1) times.push(dt);
      out = c.dataSync() as Float32Array;
      c.dispose();
      if (r === 1) break;
    }
    let err = 0;
    for (let s = 0; s < 16; s++) {
      const i = (s * 7919) % n,
        j = (s * 104729) % n;
      let ref = 0;
      for (let k = 0; k < n; k++) ref += A[i * n + k]! * B[k * n + j]!;
      err = Math.max(err, Math.abs(out![i * n + j]! - ref));
    }
    const ms = median(times);
    console.log(
      `${name.padEnd(6)} n=${String(n).padEnd(5)} ${((2 * n ** 3) / ms / 1e6).toFixed(2).padStart(8)} GFLOP/s  ${ms.toFixed(1).padStart(9)} ms  max|err| ${err.toExponential(1)}`,
    );
    a.dispose();
    b.dispose();
  }
  bk.dispose?.();
}
