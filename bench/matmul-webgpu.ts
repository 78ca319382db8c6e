/**
 * Matmul timing on the WebGPU backend: tiled (v2) vs naive (v1), NN and NT, after a warm-up
 * (first dispatches include lavapipe's JIT). Usage: node --import ./scripts/register.mjs bench/matmul-webgpu.ts [size]
 */
import { matmul, tensor } from '../core/index.ts';
import { createWebGpuBackend } from '../core/backend/webgpu/index.ts';

const n = Number(process.argv[2] ?? 512);
for (const version of ['tiled', 'naive'] as const) {
  const g = await createWebGpuBackend({ matmul: version });
  const a = tensor(g, Float32Array.from({ length: n * n }, (_, i) => Math.sin(i)), { shape: [n, n] });
  for (const tB of [false, true]) {
    await matmul(a, a, false, tB).data(); // warm-up: pipeline compile + JIT
    const reps = 5;
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) matmul(a, a, false, tB).dispose();
    await g.flush();
    const ms = (performance.now() - t0) / reps;
    console.log(`${version} ${tB ? 'NT' : 'NN'} ${n}³: ${ms.toFixed(1)} ms, ${((2 * n ** 3) / ms / 1e6).toFixed(2)} GFLOP/s`);
  }
  g.destroy();
}
