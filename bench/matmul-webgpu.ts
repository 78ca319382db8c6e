/**
 * Matmul timing on the WebGPU backend: tiled (v2), tiled with B stored f16 (frozen weights: halves
 * widened at the load, f32 accumulation), and naive (v1); NN and NT, after a warm-up (first
 * dispatches include lavapipe's JIT).
 * Usage: node --import ./scripts/register.mjs bench/matmul-webgpu.ts [size[,size…]]
 */
import { cast, matmul, tensor, type AnyTensor } from '../core/index.ts';
import { createWebGpuBackend } from '../core/backend/webgpu/index.ts';

const sizes = (process.argv[2] ?? '512').split(',').map(Number);
const variants = [
  { name: 'tiled', matmul: 'tiled', f16: false },
  { name: 'tiled f16-B', matmul: 'tiled', f16: true },
  { name: 'naive', matmul: 'naive', f16: false },
] as const;
for (const n of sizes) {
  for (const v of variants) {
    const g = await createWebGpuBackend({ matmul: v.matmul, log: () => {} });
    if (v.f16 && !g.supportsF16) {
      console.log(`${v.name}: skipped, the adapter has no shader-f16`);
      g.destroy();
      continue;
    }
    const a = tensor(
      g,
      Float32Array.from({ length: n * n }, (_, i) => Math.sin(i)),
      { shape: [n, n] },
    );
    const b: AnyTensor = v.f16 ? cast(a, 'f16') : a;
    for (const tB of [false, true]) {
      await matmul(a, b, false, tB).data(); // warm-up: pipeline compile + JIT
      const reps = 5;
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) matmul(a, b, false, tB).dispose();
      await g.flush();
      const ms = (performance.now() - t0) / reps;
      console.log(
        `${v.name} ${tB ? 'NT' : 'NN'} ${n}³: ${ms.toFixed(1)} ms, ${((2 * n ** 3) / ms / 1e6).toFixed(2)} GFLOP/s`,
      );
    }
    g.destroy();
  }
}
