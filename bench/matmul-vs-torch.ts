/**
 * WebGPU (tiled matmul v2, f32) vs torch CPU (Debian python3-torch, /usr/bin/python3) GFLOP/s for square
 * sizes in one run. Usage: node --import ./scripts/register.mjs bench/matmul-vs-torch.ts [512,1024,2048] [--threads 2]
 * The torch side runs bench/torch_prompt_step.py --matmul (median of 5 after a warm-up).
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { matmul, tensor } from '../core/index.ts';
import { createWebGpuBackend } from '../core/backend/webgpu/index.ts';

const args = process.argv.slice(2);
const sizes = (args.find((a) => !a.startsWith('--')) ?? '512,1024,2048').split(',').map(Number);
const threads = Number(args[args.indexOf('--threads') + 1] ?? 2) || 2;
const g = await createWebGpuBackend({ log: () => {} });
console.log(
  `adapter: ${g.adapterInfo}; host: ${cpus().length}× ${cpus()[0]?.model ?? '?'}; ${new Date().toISOString()}`,
);
for (const n of sizes) {
  const a = tensor(
    g,
    Float32Array.from({ length: n * n }, (_, i) => Math.sin(i)),
    { shape: [n, n] },
  );
  await matmul(a, a).data(); // warm-up: compile + JIT
  const reps = n >= 2048 ? 2 : 4,
    ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const c = matmul(a, a);
    await g.flush();
    ts.push(performance.now() - t0);
    c.dispose();
  }
  ts.sort((x, y) => x - y);
  const ms = ts[Math.floor(ts.length / 2)]!;
  console.log(
    `webgpu n=${String(n).padEnd(5)} ${((2 * n ** 3) / ms / 1e6).toFixed(2).padStart(8)} GFLOP/s  ${ms.toFixed(1).padStart(9)} ms`,
  );
  a.dispose();
}
g.destroy();
// torch_prompt_step.py picks the best OpenBLAS kernel for this CPU itself (and prints it); GOMP's active
// spin collapses on a shared box, as in bench/run-cpu.sh.
const env = { ...process.env, OMP_WAIT_POLICY: process.env['OMP_WAIT_POLICY'] ?? 'PASSIVE' };
const py = spawnSync(
  '/usr/bin/python3',
  ['bench/torch_prompt_step.py', '--matmul', sizes.join(','), '--threads', String(threads)],
  { encoding: 'utf8', env },
);
process.stdout.write(
  py.status === 0
    ? py.stdout
    : `torch: unavailable (${(py.stderr || py.error?.message || '').trim().split('\n').pop()})\n`,
);
