/**
 * A profiling Proxy over any Backend: times every kernel method (wall clock, synchronous backends
 * only) and keys matmuls by shape so the report says which GEMMs matter.
 */
import type { Backend, MatmulOptions, TensorRef } from '../core/backend/backend.ts';

const KERNELS = new Set([
  'unary',
  'binary',
  'compare',
  'where',
  'cast',
  'reduce',
  'argmax',
  'matmul',
  'strided',
  'pad',
  'concat',
  'gather',
  'takeRows',
  'scatterAdd',
  'oneHot',
  'softmax',
  'logSoftmax',
  'layerNorm',
  'layerNormBackward',
  'layerNormBackwardDx',
  'crossEntropy',
  'crossEntropyBackward',
  'adamw',
  'upload',
  'fill',
  'attention',
  'attentionBackward',
  'int8Matmul',
]);

export interface KernelStat {
  ms: number;
  /** The process's CPU time inside the calls (every thread's: with --threads 1 the kernel's own work). */
  cpuMs: number;
  calls: number;
}

export interface Profiled<B extends Backend> {
  readonly backend: B;
  readonly stats: Map<string, KernelStat>;
  reset(): void;
}

/** Kernel label: the method plus what tells calls apart (unary/binary op, matmul shape). */
function label(method: string, args: unknown[]): string {
  if (method === 'unary' || method === 'binary' || method === 'compare' || method === 'reduce')
    return `${method}.${String(args[0])}`;
  if (method === 'int8Matmul') return `int8Matmul ${String(args[2])} ${(args[0] as TensorRef).shape.join('x')}`;
  if (method === 'matmul') {
    const [a, b, o] = args as [TensorRef, TensorRef, MatmulOptions];
    return `matmul ${a.shape.join('x')}${o.transA ? 'ᵀ' : ''} @ ${b.shape.join('x')}${o.transB ? 'ᵀ' : ''}${o.bias ? ' + bias' : ''}`;
  }
  return method;
}

export function profileBackend<B extends Backend>(bk: B, byShape = false): Profiled<B> {
  const stats = new Map<string, KernelStat>();
  const proxy = new Proxy(bk, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || !KERNELS.has(prop) || typeof v !== 'function') {
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      const fn = v as (...a: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const c0 = process.cpuUsage(),
          t0 = performance.now();
        const r = fn.apply(target, args);
        const dt = performance.now() - t0,
          c = process.cpuUsage(c0);
        const key = byShape || prop !== 'matmul' ? label(prop, args) : 'matmul';
        const s = stats.get(key) ?? { ms: 0, cpuMs: 0, calls: 0 };
        s.ms += dt;
        s.cpuMs += (c.user + c.system) / 1000;
        s.calls++;
        stats.set(key, s);
        return r;
      };
    },
  });
  return { backend: proxy, stats, reset: () => stats.clear() };
}

/**
 * Rows "share% wall ms, CPU ms, calls, label", largest first (by CPU time when `byCpu`: on a loaded
 * machine the wall clock of one call measures the scheduler), down to `minShare`.
 */
export function formatProfile(stats: Map<string, KernelStat>, steps: number, minShare = 0.005, byCpu = false): string {
  const key = (s: KernelStat): number => (byCpu ? s.cpuMs : s.ms);
  const total = [...stats.values()].reduce((a, s) => a + key(s), 0);
  const cpuTotal = [...stats.values()].reduce((a, s) => a + s.cpuMs, 0),
    wallTotal = [...stats.values()].reduce((a, s) => a + s.ms, 0);
  const rows = [...stats.entries()].sort((a, b) => key(b[1]) - key(a[1])).filter(([, s]) => key(s) / total >= minShare);
  const lines = rows.map(
    ([k, s]) =>
      `${((100 * key(s)) / total).toFixed(1).padStart(5)}%  ${(s.ms / steps).toFixed(2).padStart(9)} ms/step  cpu ${(s.cpuMs / steps).toFixed(2).padStart(8)} ms  ${String(Math.round(s.calls / steps)).padStart(5)} calls/step  ${k}`,
  );
  return [
    `kernel time ${(wallTotal / steps).toFixed(1)} ms/step wall, ${(cpuTotal / steps).toFixed(1)} ms/step CPU`,
    ...lines,
  ].join('\n');
}
