/**
 * Fused AdamW (decoupled weight decay, torch.optim.AdamW), in place on param / m / v; grad read only.
 * Bias corrections are computed on the host in f64 and passed as f32.
 *
 * Answers to core/backend/cpu/nn.ts adamwRef.
 */
import type { AdamWHyper } from '../../core/backend/backend.ts';
import { elementKernelMain, grid, ParamWriter, paramsWgsl, type Program, type Tol } from './common.ts';

export const REFERENCE = 'core/backend/cpu/nn.ts: adamwRef';
export const TOL: Tol = { atol: 1e-6, rtol: 1e-5 };

const WG = 256;

/** Bindings: grad (read) 0; param, m, v (read_write) 1..3. */
export function adamwProgram(n: number, h: AdamWHyper): Program {
  const key = 'adamw';
  const bc1 = 1 - Math.pow(h.beta1, h.step),
    bc2 = 1 - Math.pow(h.beta2, h.step);
  const wgsl = () => `// ${key}
@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
${paramsWgsl(4)}
${elementKernelMain(
  WG,
  `let lr = pf(1u); let b1 = pf(2u); let b2 = pf(3u); let eps = pf(4u); let wd = pf(5u);
  let g = grad[i];
  let mi = b1 * m[i] + (1.0 - b1) * g;
  let vi = b2 * v[i] + (1.0 - b2) * g * g;
  m[i] = mi; v[i] = vi;
  let p = param[i] * (1.0 - lr * wd);
  param[i] = p - (lr * (mi / pf(6u))) / (sqrt(vi / pf(7u)) + eps);`,
)}`;
  const params = new ParamWriter().u(n).f(h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, bc1, bc2).done();
  return { name: 'adamw', key, wgsl, params, workgroups: grid(Math.ceil(n / WG)) };
}
