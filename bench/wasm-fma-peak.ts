/**
 * The per-core WASM SIMD128 FMA ceiling: a loop of independent f32x4.relaxed_madd chains on R
 * accumulators (emitted with the backend's own encoder), one thread. This is what the GEMM's
 * GFLOP/s should be read against: no loads, no address arithmetic, only the FMA ports and the
 * loop. R ≥ latency × ports (4 × 2 on recent Intel) is needed to reach the ceiling; fewer chains
 * measure the latency bound instead.
 *   node --import ./scripts/register.mjs bench/wasm-fma-peak.ts [--chains 4,8,10,12,14] [--reps 7]
 */
import { encodeModule, Fn, I32, S, V128 } from '../core/backend/wasm/encoder.ts';
import { enableFma, WA } from '../core/backend/wasm/wasm-api.ts';
import { arg, median } from './backends.ts';

const chains = arg('chains', '4,8,10,12,14').split(',').map(Number);
const reps = Number(arg('reps', '7'));
/** FMAs per chain per loop trip: enough that the loop's own compare and branch are noise. */
const UNROLL = 8;

/** peak(iters): iters × UNROLL × R FMAs; the sum of the accumulators is stored at byte 0 so nothing is dead. */
function peakFn(R: number): Fn {
  const f = new Fn('peak', [I32]);
  const k = f.local(I32);
  const acc = Array.from({ length: R }, () => f.local(V128));
  const a = f.local(V128),
    b = f.local(V128);
  f.i32(0).splatLoad().set(a);
  f.get(a).set(b);
  for (const x of acc) f.get(a).set(x);
  f.for(
    k,
    () => f.i32(0),
    0,
    1,
    () => {
      for (let u = 0; u < UNROLL; u++) for (const x of acc) f.get(a).get(b).get(x).simd(S.f32x4RelaxedMadd).set(x);
    },
  );
  f.i32(0);
  f.get(acc[0]!);
  for (const x of acc.slice(1)) f.get(x).simd(S.f32x4Add);
  f.vstore(16);
  return f;
}

if (!enableFma()) throw new Error('relaxed SIMD is not available: no FMA peak to measure');
const memory = new WA.Memory({ initial: 1, maximum: 1, shared: true });
new Float32Array(memory.buffer).fill(0.999, 0, 4); // |a·b + acc| stays bounded: no overflow, no subnormals
const iters = 2_000_000;
for (const R of chains) {
  const inst = new WA.Instance(new WA.Module(encodeModule([peakFn(R)], 1, 1)), { env: { memory } });
  const peak = inst.exports['peak'] as (n: number) => void;
  peak(10_000); // tier up
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    peak(iters);
    times.push(performance.now() - t0);
  }
  const flops = iters * UNROLL * R * 8; // 4 lanes × (mul + add)
  const best = Math.min(...times),
    med = median(times);
  console.log(
    `chains=${String(R).padStart(2)}  median ${(flops / med / 1e6).toFixed(1).padStart(6)} GFLOP/s  best ${(flops / best / 1e6).toFixed(1).padStart(6)} GFLOP/s`,
  );
}
