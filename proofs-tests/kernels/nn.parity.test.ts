/** Parity: softmax / logSoftmax, fused softmax cross-entropy (fwd + bwd), layerNorm forward (y, mean, rstd) and backward, fused AdamW vs the CPU reference. */
import fc from 'fast-check';
import {
  layerNormBackward,
  layerNormBackwardDx,
  logSoftmax,
  softmax,
  softmaxCrossEntropy,
  sum,
  Tensor,
  vjp,
  type Backend,
} from '../../core/index.ts';
import { TOL as CE_TOL } from '../../kernels/wgsl/cross-entropy.ts';
import { TOL as ADAMW_TOL } from '../../kernels/wgsl/adamw.ts';
import { TOL as LN_TOL } from '../../kernels/wgsl/layernorm.ts';
import { TOL as SOFTMAX_TOL } from '../../kernels/wgsl/softmax.ts';
import { cpu, expectParity, gpuSuite, pair, RUNS, sizeOf, values } from './harness.ts';

const { test, gpu } = await gpuSuite('softmax / layerNorm / adamw parity');

const rowsArb = fc.tuple(
  fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 0, maxLength: 2 }),
  fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(127, 128, 129, 300, 1000)),
);

/** layerNorm through the backend directly, so mean and rstd can be compared too. */
function ln(bk: Backend, x: Tensor, w: Tensor, b: Tensor, eps: number): Tensor[] {
  const r = bk.layerNorm(x, w, b, eps);
  const rows = x.shape.slice(0, -1);
  return [
    new Tensor(bk, r.y, x.shape, x.dtype),
    new Tensor(bk, r.mean, rows, x.dtype),
    new Tensor(bk, r.rstd, rows, x.dtype),
  ];
}

if (gpu) {
  const g = gpu;

  test('softmax and logSoftmax over random rows and widths (incl. > workgroup)', async () => {
    await fc.assert(
      fc.asyncProperty(rowsArb, fc.nat(1 << 20), async ([lead, C], seed) => {
        const shape = [...lead, C];
        const [c, w] = pair(g, values(seed, sizeOf(shape), -8, 8), shape);
        await expectParity(softmax(w), softmax(c), SOFTMAX_TOL, `softmax ${JSON.stringify(shape)}`);
        await expectParity(logSoftmax(w), logSoftmax(c), SOFTMAX_TOL, `logSoftmax ${JSON.stringify(shape)}`);
      }),
      RUNS(12),
    );
  });

  test('softmax: masked (−∞) entries, fully masked rows, large logits', async () => {
    const x = new Float32Array([
      -Infinity,
      0,
      1,
      -Infinity,
      -Infinity,
      -Infinity,
      -Infinity,
      -Infinity,
      80,
      90,
      -80,
      0,
    ]);
    const [c, w] = pair(g, x, [3, 4]);
    await expectParity(softmax(w), softmax(c), SOFTMAX_TOL, 'softmax masked');
    await expectParity(logSoftmax(w), logSoftmax(c), SOFTMAX_TOL, 'logSoftmax masked');
  });

  test('softmaxCrossEntropy: per-row loss and d logits, with ignored rows and label smoothing', async () => {
    const ceArb = fc.tuple(
      fc.integer({ min: 1, max: 12 }),
      fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(127, 128, 129, 1000)),
      fc.constantFrom(0, 0.1),
      fc.nat(1 << 20),
    );
    await fc.assert(
      fc.asyncProperty(ceArb, async ([N, C, eps, seed]) => {
        const labels = Int32Array.from(values(seed + 1, N, 0, 1), (u, n) =>
          n % 4 === 3 ? -100 : Math.min(C - 1, Math.floor(u * C)),
        );
        const [cx, wx] = pair(g, values(seed, N * C, -8, 8), [N, C]);
        const [cl, wl] = pair(g, labels, [N]);
        const [cdy, wdy] = pair(g, values(seed + 2, N, -1, 1), [N]);
        const tag = `N=${N} C=${C} ε=${eps}`;
        const [gotLoss, gotPull] = vjp((x: Tensor) => softmaxCrossEntropy(x, wl, -100, eps), wx);
        const [refLoss, refPull] = vjp((x: Tensor) => softmaxCrossEntropy(x, cl, -100, eps), cx);
        await expectParity(gotLoss, refLoss, CE_TOL, `crossEntropy loss ${tag}`);
        await expectParity(gotPull(wdy), refPull(cdy), CE_TOL, `crossEntropy d logits ${tag}`);
      }),
      RUNS(12),
    );
  });

  test('softmaxCrossEntropy: large logits stay finite; an out-of-range label gives NaN on the GPU (the CPU throws)', async () => {
    const [cx, wx] = pair(g, new Float32Array([80, 90, -80, 1e4, -1e4, 0]), [2, 3]);
    const [cl, wl] = pair(g, new Int32Array([1, 0]), [2]);
    await expectParity(softmaxCrossEntropy(wx, wl), softmaxCrossEntropy(cx, cl), CE_TOL, 'crossEntropy large logits');
    const bad = await softmaxCrossEntropy(wx, pair(g, new Int32Array([3, 0]), [2])[1]).data();
    if (!Number.isNaN(bad[0]) || Number.isNaN(bad[1]))
      throw new Error(`out-of-range label: want [NaN, finite], got [${bad[0]}, ${bad[1]}]`);
    let threw = false;
    try {
      sum(softmaxCrossEntropy(cx, pair(g, new Int32Array([3, 0]), [2])[0]));
    } catch (e) {
      threw = e instanceof RangeError;
    }
    if (!threw) throw new Error('CPU reference should throw a RangeError for label 3 of C = 3');
  });

  test('layerNorm forward: y, mean, rstd', async () => {
    await fc.assert(
      fc.asyncProperty(rowsArb, fc.nat(1 << 20), fc.constantFrom(1e-5, 1e-12), async ([lead, C], seed, eps) => {
        const shape = [...lead, C];
        const [cx, wx] = pair(g, values(seed, sizeOf(shape), -3, 5), shape);
        const [cw, ww] = pair(g, values(seed + 1, C, 0.5, 1.5), [C]);
        const [cb, wb] = pair(g, values(seed + 2, C), [C]);
        const got = ln(g, wx, ww, wb, eps),
          ref = ln(cpu, cx, cw, cb, eps);
        // C = 1 makes rstd = 1/√eps: compare relative only
        const tol = C === 1 ? { atol: 0, rtol: 1e-4 } : LN_TOL;
        for (const [i, name] of ['y', 'mean', 'rstd'].entries())
          await expectParity(got[i]!, ref[i]!, tol, `layerNorm ${name} ${JSON.stringify(shape)}`);
      }),
      RUNS(10),
    );
  });

  test('layerNorm backward: dx per row, dWeight / dBias summed over rows', async () => {
    await fc.assert(
      fc.asyncProperty(rowsArb, fc.nat(1 << 20), async ([lead, C], seed) => {
        const shape = [...lead, C];
        const [cx, wx] = pair(g, values(seed, sizeOf(shape), -3, 5), shape);
        const [cw, ww] = pair(g, values(seed + 1, C, 0.5, 1.5), [C]);
        const [cb, wb] = pair(g, values(seed + 2, C), [C]);
        const [cdy, wdy] = pair(g, values(seed + 3, sizeOf(shape)), shape);
        const [, gm, gr] = ln(g, wx, ww, wb, 1e-5);
        const [, cm, cr] = ln(cpu, cx, cw, cb, 1e-5);
        const got = layerNormBackward(wdy, wx, ww, gm!, gr!),
          ref = layerNormBackward(cdy, cx, cw, cm!, cr!);
        const rows = sizeOf(lead);
        const sumTol = { atol: LN_TOL.atol * Math.sqrt(rows), rtol: LN_TOL.rtol };
        await expectParity(
          got.dx,
          ref.dx,
          C === 1 ? { atol: 1e-3, rtol: 1e-3 } : LN_TOL,
          `dx ${JSON.stringify(shape)}`,
        );
        await expectParity(got.dWeight, ref.dWeight, sumTol, `dWeight ${JSON.stringify(shape)}`);
        await expectParity(got.dBias, ref.dBias, sumTol, `dBias ${JSON.stringify(shape)}`);
        await expectParity(
          layerNormBackwardDx(wdy, wx, ww, gm!, gr!),
          layerNormBackwardDx(cdy, cx, cw, cm!, cr!),
          C === 1 ? { atol: 1e-3, rtol: 1e-3 } : LN_TOL,
          `dx only ${JSON.stringify(shape)}`,
        );
      }),
      RUNS(10),
    );
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
