/** Backend by name for the bench scripts (`--backend cpu|wasm|webgpu`, `--threads N`). */
import { cpuBackend, type Backend } from '../core/index.ts';

export async function backendByName(name: string, threads?: number): Promise<Backend & { dispose?: () => void }> {
  if (name === 'cpu') return cpuBackend();
  if (name === 'wasm') {
    const { createWasmBackend } = await import('../core/backend/wasm/index.ts');
    return createWasmBackend(threads === undefined ? {} : { threads });
  }
  if (name === 'webgpu') {
    const { createWebGpuBackend } = await import('../core/backend/webgpu/index.ts');
    return createWebGpuBackend();
  }
  throw new Error(`unknown backend ${name} (cpu | wasm | webgpu)`);
}

/** `--name value` from argv, else the default. */
export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
