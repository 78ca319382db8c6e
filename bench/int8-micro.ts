/**
 * CPU and wall time of single int8 products on the WASM backend (backend calls, no autograd front end), by
 * shape and direction, and of the row quantization alone (a 4-column product, whose GEMM is negligible).
 *   node --import ./scripts/register.mjs bench/int8-micro.ts [--threads 1] [--reps 50] [--dot widened|paired|vnni]
 * --dot picks the int8 GEMM (core/backend/wasm/int8-kernel.ts; default: the backend's own choice).
 */
import { createWasmBackend } from '../core/backend/wasm/index.ts';
import { INT8_DOTS, type Int8Dot } from '../core/backend/wasm/int8-kernel.ts';
import { quantizeWeights } from '../core/tensor/int8.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const threads = Number(arg('threads', '1')),
  reps = Number(arg('reps', '50'));
const dot = arg('dot', '');
if (dot && !(INT8_DOTS as readonly string[]).includes(dot))
  throw new Error(`--dot: ${INT8_DOTS.join(' | ')}, got ${dot}`);
const bk = createWasmBackend({ threads, ...(dot ? { int8Dot: dot as Int8Dot } : {}) });
console.log(`${bk.int8Kernel}, V8 ${process.versions.v8}, ${threads} thread(s)`);
const rand = (n: number, s: number): Float32Array => {
  const a = new Float32Array(n);
  let x = s;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    a[i] = (x / 2 ** 32 - 0.5) * 2;
  }
  return a;
};
const shapes: readonly (readonly [number, number, number])[] = [
  [620, 256, 256],
  [620, 1024, 256],
  [620, 256, 1024],
  [8, 256, 1024],
  [620, 4, 256], // ~ the quantization of 620×256 alone (forward) / of 620×4 (backward)
  [620, 4, 1024],
];
for (const [M, N, K] of shapes) {
  const w = bk.uploadInt8(quantizeWeights(rand(N * K, 1), N, K));
  for (const dir of ['forward', 'backward'] as const) {
    const inner = dir === 'forward' ? K : N;
    const x = { id: bk.upload(rand(M * inner, 2), 'f32'), shape: [M, inner], dtype: 'f32' as const };
    const once = () => bk.decRef(bk.int8Matmul(x, w, dir, undefined));
    for (let i = 0; i < 3; i++) once();
    const c0 = process.cpuUsage(),
      t0 = performance.now();
    for (let i = 0; i < reps; i++) once();
    const c = process.cpuUsage(c0);
    const ms = (c.user + c.system) / 1000 / reps,
      wall = (performance.now() - t0) / reps;
    console.log(
      `${dir.padEnd(8)} M${M} N${N} K${K}: ${ms.toFixed(3)} ms CPU, ${wall.toFixed(3)} wall, ${((M * N * K) / ms / 1e6).toFixed(1)} GMAC/s`,
    );
    bk.decRef(x.id);
  }
  bk.releaseInt8(w);
}
bk.dispose();
