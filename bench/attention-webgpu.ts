/**
 * Attention forward+backward throughput at BERT-base (B=8,H=12,T=128,Dh=64) and RoBERTa-large
 * (B=8,H=16,T=256,Dh=64) shapes with a [B,1,1,T] padding mask: the CPU reference (fused loops, f32),
 * WebGPU fused (flash-style kernels) vs WebGPU composite (matmul + softmax + matmul), and torch CPU
 * (F.scaled_dot_product_attention where the installed torch has it, else the same math spelled out).
 * GFLOP/s counts 12·B·H·T²·Dh per fwd+bwd (the five matmuls' 2·MNK, as FlashAttention reports).
 * Usage: node --import ./scripts/register.mjs bench/attention-webgpu.ts [--shapes bert-base,roberta-large] [--no-cpu] [--reps 3]
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import {
  attentionComposite,
  cpuBackend,
  fusedAttention,
  scope,
  tensor,
  vjp,
  type Backend,
  type Tensor,
} from '../core/index.ts';
import { createWebGpuBackend } from '../core/backend/webgpu/index.ts';

const SHAPES = { 'bert-base': [8, 12, 128, 64], 'roberta-large': [8, 16, 256, 64] } as const;
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? dflt) : dflt;
};
const shapes = opt('--shapes', 'bert-base,roberta-large').split(',') as (keyof typeof SHAPES)[];
const reps = Number(opt('--reps', '3'));
type Attn = (q: Tensor, k: Tensor, v: Tensor, bias: Tensor | undefined, scale: number) => Tensor;

/** Median ms of fwd+bwd (vjp, pullback, all results read back) after one warm-up. */
async function time(bk: Backend, [B, H, T, Dh]: readonly number[], f: Attn, n: number): Promise<number> {
  const r = (s: number) => Float32Array.from({ length: B! * H! * T! * Dh! }, (_, i) => Math.sin(s + i * 0.37));
  const mk = (s: number) => tensor(bk, r(s), { shape: [B!, H!, T!, Dh!], dtype: 'f32' });
  const pad = Math.floor(T! / 10);
  const mask = tensor(
    bk,
    Float32Array.from({ length: B! * T! }, (_, i) => (i % T! >= T! - pad ? -3.4028234663852886e38 : 0)),
    { shape: [B!, 1, 1, T!], dtype: 'f32' },
  );
  const [q, k, v, ct] = [mk(1), mk(2), mk(3), mk(4)];
  const once = async () => {
    const outs = scope(bk, () => {
      const [y, pull] = vjp(([a, b, c]: [Tensor, Tensor, Tensor]) => f(a, b, c, mask, 1 / Math.sqrt(Dh!)), [q, k, v]);
      return [y, ...pull(ct)];
    });
    await Promise.all(outs.map((t) => t.data()));
    for (const t of outs) t.dispose();
  };
  await once();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await once();
    ts.push(performance.now() - t0);
  }
  for (const t of [q, k, v, ct, mask]) t.dispose();
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)]!;
}

const TORCH = `
import sys, time, torch, torch.nn.functional as F
torch.set_num_threads(int(sys.argv[1]))
B, H, T, D = map(int, sys.argv[2:6]); reps = int(sys.argv[6])
sdpa = hasattr(F, "scaled_dot_product_attention")
q, k, v = (torch.randn(B, H, T, D, requires_grad=True) for _ in range(3))
mask = torch.zeros(B, 1, 1, T); mask[..., T - T // 10:] = torch.finfo(torch.float32).min
def fwd():
    if sdpa: return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return torch.softmax(q @ k.transpose(-1, -2) / D ** 0.5 + mask, -1) @ v
ts = []
for i in range(reps + 1):
    t0 = time.perf_counter(); y = fwd(); y.backward(torch.ones_like(y)); ts.append(time.perf_counter() - t0)
ts = sorted(ts[1:])
print(f"{ts[len(ts) // 2] * 1000:.1f} {'sdpa' if sdpa else 'math (no sdpa in torch ' + torch.__version__ + ')'}")
`;

const g = await createWebGpuBackend({ log: () => {} });
console.log(
  `adapter: ${g.adapterInfo}; host: ${cpus().length}× ${cpus()[0]?.model ?? '?'}, load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}; ${new Date().toISOString()}`,
);
for (const name of shapes) {
  const s = SHAPES[name],
    [B, H, T, Dh] = s;
  const gf = (ms: number) =>
    `${ms.toFixed(1).padStart(8)} ms ${((12 * B * H * T * T * Dh) / ms / 1e6).toFixed(2).padStart(7)} GFLOP/s`;
  console.log(`${name} [B=${B},H=${H},T=${T},Dh=${Dh}] fwd+bwd`);
  if (!args.includes('--no-cpu')) {
    console.log(`  cpu reference (fused loops, f32)  ${gf(await time(cpuBackend(), s, fusedAttention, 1))}`);
    console.log(
      `  cpu composite (f32)               ${gf(await time(cpuBackend(), s, (a, b, c, m, sc) => attentionComposite(a, b, c, m, sc), 1))}`,
    );
  }
  console.log(`  webgpu fused                      ${gf(await time(g, s, fusedAttention, reps))}`);
  console.log(
    `  webgpu composite                  ${gf(await time(g, s, (a, b, c, m, sc) => attentionComposite(a, b, c, m, sc), reps))}`,
  );
  const py = spawnSync('/usr/bin/python3', ['-c', TORCH, '2', ...s.map(String), String(reps)], { encoding: 'utf8' });
  const [ms, how] =
    py.status === 0
      ? [Number(py.stdout.split(' ')[0]), py.stdout.trim().split(' ').slice(1).join(' ')]
      : [NaN, 'unavailable'];
  console.log(`  torch cpu, 2 threads (${how})  ${Number.isNaN(ms) ? '' : gf(ms)}`);
}
g.destroy();
