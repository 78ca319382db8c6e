/**
 * The proof of the int8 primitives' VJP rules (vjp-cases.ts). Finite differences cannot check them: a
 * quantized product is piecewise constant in its input. The rules are straight-through: each is the
 * exact VJP of the dequantized linear map (W̃ = codes·scales), up to the quantization of the incoming
 * rows. So the check is dx against dy·W̃ (linearInt8) and dy' against ddx·W̃ᵀ (linearInt8Dx), each
 * within Σ |code|·(row scale / 2) per element, and the bias gradient against Σ_rows dy.
 */
import * as assert from 'uvu/assert';
import { int8Weight, linearInt8, tensor, vjp, type Backend, type Tensor } from '../../core/index.ts';
import { int8DataGrad } from '../../core/tensor/ops/int8-linear.ts';
import { quantizeWeights, ROW_LEVELS } from '../../core/tensor/int8.ts';
import { seededValues } from '../support/seeded.ts';

/** Checks `got` [M, outer] against rows·Ŵ where Ŵ[i][o] = W̃ entry, within the rows' quantization bound. */
function withinRowQuantization(
  got: ArrayLike<number>,
  rows: ArrayLike<number>,
  M: number,
  inner: number,
  outer: number,
  entry: (i: number, o: number) => { readonly value: number; readonly code: number; readonly scale: number },
  label: string,
): void {
  for (let m = 0; m < M; m++) {
    let rowMax = 0;
    for (let i = 0; i < inner; i++) rowMax = Math.max(rowMax, Math.abs(rows[m * inner + i]! * entry(i, 0).scale));
    for (let o = 0; o < outer; o++) {
      let exact = 0,
        bound = 1e-6;
      for (let i = 0; i < inner; i++) {
        const e = entry(i, o);
        exact += rows[m * inner + i]! * e.value;
        bound += (rowMax / ROW_LEVELS / 2) * Math.abs(e.code) * (e.scale === 0 ? 0 : 1);
      }
      assert.ok(
        Math.abs(got[m * outer + o]! - exact) <= bound,
        `${label}[${m},${o}]: ${got[m * outer + o]} vs ${exact} ± ${bound}`,
      );
    }
  }
}

export function checkLinearInt8Vjp(bk: Backend, seed: number): void {
  const N = 5,
    K = 7,
    M = 4;
  const wv = seededValues(seed, N * K, -1, 1),
    m = quantizeWeights(wv, N, K);
  const qw = int8Weight(bk, m, [N, K]);
  const x = tensor(bk, seededValues(seed + 1, M * K, -1, 1), { shape: [M, K], dtype: 'f32' });
  const b = tensor(bk, seededValues(seed + 2, N, -1, 1), { shape: [N], dtype: 'f32' });
  const dyv = seededValues(seed + 3, M * N, -1, 1);
  const [, pull] = vjp(([xx, bb]: readonly [Tensor, Tensor]) => linearInt8(xx, qw, bb), [x, b] as const);
  const [dx, db] = pull(tensor(bk, dyv, { shape: [M, N], dtype: 'f32' }));
  // dx = dy·W̃: rows of dy (folded with s_n, as the kernel quantizes them) against codes
  withinRowQuantization(
    dx.dataSync(),
    dyv,
    M,
    N,
    K,
    (n, k) => ({ value: m.q[n * K + k]! * m.scale[n]!, code: m.q[n * K + k]!, scale: m.scale[n]! }),
    'linearInt8 dx',
  );
  const dbv = db.dataSync();
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let r = 0; r < M; r++) s += dyv[r * N + n]!;
    assert.ok(Math.abs(dbv[n]! - s) <= 1e-6, `linearInt8 db[${n}]`);
  }
  // linearInt8Dx's VJP: d(dy) = ddx·W̃ᵀ, the rows of ddx quantized as a forward's
  const ddxv = seededValues(seed + 4, M * K, -1, 1);
  const [, pull2] = vjp((d: Tensor) => int8DataGrad(d, qw), tensor(bk, dyv, { shape: [M, N], dtype: 'f32' }));
  const ddy = pull2(tensor(bk, ddxv, { shape: [M, K], dtype: 'f32' }));
  withinRowQuantization(
    ddy.dataSync(),
    ddxv,
    M,
    K,
    N,
    (k, n) => ({ value: m.q[n * K + k]! * m.scale[n]!, code: m.q[n * K + k]! * m.scale[n]!, scale: 1 }),
    'linearInt8Dx VJP',
  );
  qw.dispose();
}
