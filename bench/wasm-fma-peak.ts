/**
 * The per-core WASM SIMD128 FMA ceiling: a loop of independent f32x4.relaxed_madd chains on R
 * accumulators (emitted with the backend's own encoder), one thread. This is what the GEMM's
 * GFLOP/s should be read against: no loads, no address arithmetic, only the FMA ports and the
 * loop. R ≥ latency × ports (4 × 2 on recent Intel) is needed to reach the ceiling; fewer chains
 * measure the latency bound instead.
 *   node --import ./scripts/register.mjs bench/wasm-fma-peak.ts [--chains 4,8,10,12,14] [--reps 7] [--op fma|dot8]
 * `--op dot8` measures the int8 GEMM's instruction instead, i32x4.relaxed_dot_i8x16_i7x16_add_s (16 multiply-adds
 * into i32; one vpdpbusd under V8 13.6 with AVX-VNNI: core/backend/wasm/int8-kernel.ts), in G multiply-adds/s.
 */
import { encodeModule, Fn, I32, S, V128 } from '../core/backend/wasm/encoder.ts';
import { enableFma, WA } from '../core/backend/wasm/wasm-api.ts';
import { arg, median } from './backends.ts';

const chains = arg('chains', '4,8,10,12,14').split(',').map(Number);
const reps = Number(arg('reps', '7'));
const op = arg('op', 'fma');
if (op !== 'fma' && op !== 'dot8') throw new Error(`--op: fma | dot8, got ${op}`);
/** i32x4.relaxed_dot_i8x16_i7x16_add_s (int8-gemm.ts X table). */
const DOT8 = 0x113;
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
      for (let u = 0; u < UNROLL; u++)
        for (const x of acc)
          f.get(a)
            .get(b)
            .get(x)
            .simd(op === 'fma' ? S.f32x4RelaxedMadd : DOT8)
            .set(x);
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
  // fma: 4 lanes × (mul + add) flops; dot8: 16 multiply-adds an instruction
  const work = iters * UNROLL * R * (op === 'fma' ? 8 : 16),
    unit = op === 'fma' ? 'GFLOP/s' : 'GMAC/s';
  const best = Math.min(...times),
    med = median(times);
  console.log(
    `${op} chains=${String(R).padStart(2)}  median ${(work / med / 1e6).toFixed(1).padStart(6)} ${unit}  best ${(work / best / 1e6).toFixed(1).padStart(6)} ${unit}`,
  );
}
