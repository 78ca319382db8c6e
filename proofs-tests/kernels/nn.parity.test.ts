/** Parity: softmax / logSoftmax, layerNorm forward (y, mean, rstd) and backward, fused AdamW vs the CPU reference. */
import fc from 'fast-check';
import { layerNormBackward, logSoftmax, softmax, Tensor, type Backend } from '../../core/index.ts';
import { TOL as ADAMW_TOL } from '../../kernels/wgsl/adamw.ts';
import { TOL as LN_TOL } from '../../kernels/wgsl/layernorm.ts';
import { TOL as SOFTMAX_TOL } from '../../kernels/wgsl/softmax.ts';
import { cpu, expectParity, gpuSuite, pair, RUNS, sizeOf, values } from './harness.ts';

const { test, gpu } = await gpuSuite('softmax / layerNorm / adamw parity');

const rowsArb = fc.tuple(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 0, maxLength: 2 }), fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(127, 128, 129, 300, 1000)));

/** layerNorm through the backend directly, so mean and rstd can be compared too. */
function ln(bk: Backend, x: Tensor, w: Tensor, b: Tensor, eps: number): Tensor[] {
  const r = bk.layerNorm(x, w, b, eps);
  const rows = x.shape.slice(0, -1);
  return [new Tensor(bk, r.y, x.shape, x.dtype), new Tensor(bk, r.mean, rows, x.dtype), new Tensor(bk, r.rstd, rows, x.dtype)];
}

if (gpu) {
  const g = gpu;

  test('softmax and logSoftmax over random rows and widths (incl. > workgroup)', async () => {
    await fc.assert(fc.asyncProperty(rowsArb, fc.nat(1 << 20), async ([lead, C], seed) => {
      const shape = [...lead, C];
      const [c, w] = pair(g, values(seed, sizeOf(shape), -8, 8), shape);
      await expectParity(softmax(w), softmax(c), SOFTMAX_TOL, `softmax ${JSON.stringify(shape)}`);
      await expectParity(logSoftmax(w), logSoftmax(c), SOFTMAX_TOL, `logSoftmax ${JSON.stringify(shape)}`);
    }), RUNS(12));
  });

  test('softmax: masked (−∞) entries, fully masked rows, large logits', async () => {
    const x = new Float32Array([-Infinity, 0, 1, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, 80, 90, -80, 0]);
    const [c, w] = pair(g, x, [3, 4]);
    await expectParity(softmax(w), softmax(c), SOFTMAX_TOL, 'softmax masked');
    await expectParity(logSoftmax(w), logSoftmax(c), SOFTMAX_TOL, 'logSoftmax masked');
  });

  test('layerNorm forward: y, mean, rstd', async () => {
    await fc.assert(fc.asyncProperty(rowsArb, fc.nat(1 << 20), fc.constantFrom(1e-5, 1e-12), async ([lead, C], seed, eps) => {
      const shape = [...lead, C];
      const [cx, wx] = pair(g, values(seed, sizeOf(shape), -3, 5), shape);
      const [cw, ww] = pair(g, values(seed + 1, C, 0.5, 1.5), [C]);
      const [cb, wb] = pair(g, values(seed + 2, C), [C]);
      const got = ln(g, wx, ww, wb, eps), ref = ln(cpu, cx, cw, cb, eps);
      // C = 1 makes rstd = 1/√eps: compare relative only
      const tol = C === 1 ? { atol: 0, rtol: 1e-4 } : LN_TOL;
      for (const [i, name] of ['y', 'mean', 'rstd'].entries()) await expectParity(got[i]!, ref[i]!, tol, `layerNorm ${name} ${JSON.stringify(shape)}`);
    }), RUNS(10));
  });

  test('layerNorm backward: dx per row, dWeight / dBias summed over rows', async () => {
    await fc.assert(fc.asyncProperty(rowsArb, fc.nat(1 << 20), async ([lead, C], seed) => {
      const shape = [...lead, C];
      const [cx, wx] = pair(g, values(seed, sizeOf(shape), -3, 5), shape);
      const [cw, ww] = pair(g, values(seed + 1, C, 0.5, 1.5), [C]);
      const [cb, wb] = pair(g, values(seed + 2, C), [C]);
      const [cdy, wdy] = pair(g, values(seed + 3, sizeOf(shape)), shape);
      const [, gm, gr] = ln(g, wx, ww, wb, 1e-5);
      const [, cm, cr] = ln(cpu, cx, cw, cb, 1e-5);
      const got = layerNormBackward(wdy, wx, ww, gm!, gr!), ref = layerNormBackward(cdy, cx, cw, cm!, cr!);
      const rows = sizeOf(lead);
      const sumTol = { atol: LN_TOL.atol * Math.sqrt(rows), rtol: LN_TOL.rtol };
      await expectParity(got.dx, ref.dx, C === 1 ? { atol: 1e-3, rtol: 1e-3 } : LN_TOL, `dx ${JSON.stringify(shape)}`);
      await expectParity(got.dWeight, ref.dWeight, sumTol, `dWeight ${JSON.stringify(shape)}`);
      await expectParity(got.dBias, ref.dBias, sumTol, `dBias ${JSON.stringify(shape)}`);
    }), RUNS(10));
  });

  test('adamw: three in-place steps match (param, m, v)', async () => {
    for (const n of [1, 7, 300, 1025]) {
      const [cp, wp] = pair(g, values(n, n), [n]);
      const [cmo, wmo] = pair(g, new Float32Array(n), [n]);
      const [cv, wv] = pair(g, new Float32Array(n), [n]);
      for (let step = 1; step <= 3; step++) {
        const [cg, wg] = pair(g, values(n * 10 + step, n), [n]);
        const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step };
        g.adamw(wp, wg, wmo, wv, h);
        cpu.adamw(cp, cg, cmo, cv, h);
      }
      await expectParity(wmo, cmo, ADAMW_TOL, `adamw m n=${n}`);
      await expectParity(wv, cv, ADAMW_TOL, `adamw v n=${n}`);
      await expectParity(wp, cp, ADAMW_TOL, `adamw param n=${n}`);
    }
  });
}

test.run();
