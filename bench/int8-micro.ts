/**
 * CPU time of single int8 products on the WASM backend (one thread), by shape and direction: where the
 * int8 GEMM time goes between the row quantization and the integer GEMM.
 *   node --import ./scripts/register.mjs bench/int8-micro.ts [--threads 1] [--reps 50]
 */
import { int8Weight, linearInt8, tensor } from '../core/index.ts';
import { int8DataGrad } from '../core/tensor/ops/int8-linear.ts';
import { createWasmBackend } from '../core/backend/wasm/index.ts';
import { quantizeWeights } from '../core/tensor/int8.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const threads = Number(arg('threads', '1')),
  reps = Number(arg('reps', '50'));
const bk = createWasmBackend({ threads });
const rand = (n: number, s: number): Float32Array => {
  const a = new Float32Array(n);
  let x = s;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    a[i] = (x / 2 ** 32 - 0.5) * 2;
  }
  return a;
};
for (const [M, N, K] of [
  [620, 256, 256],
  [620, 1024, 256],
  [620, 256, 1024],
  [8, 256, 256],
  [8, 256, 1024],
] as const) {
  const w = int8Weight(bk, quantizeWeights(rand(N * K, 1), N, K), [N, K]);
  const x = tensor(bk, rand(M * K, 2), { shape: [M, K], dtype: 'f32' });
  const dy = tensor(bk, rand(M * N, 3), { shape: [M, N], dtype: 'f32' });
  for (const dir of ['forward', 'backward'] as const) {
    const once = () => (dir === 'forward' ? linearInt8(x, w) : int8DataGrad(dy, w)).dispose();
    for (let i = 0; i < 3; i++) once();
    const c0 = process.cpuUsage();
    for (let i = 0; i < reps; i++) once();
    const c = process.cpuUsage(c0);
    const ms = (c.user + c.system) / 1000 / reps;
    console.log(
      `${dir.padEnd(8)} M${M} N${N} K${K}: ${ms.toFixed(3)} ms CPU, ${((M * N * K) / ms / 1e6).toFixed(1)} GMAC/s`,
    );
  }
  for (const t of [x, dy]) t.dispose();
  w.dispose();
}
bk.dispose();
