/** Parity: fused attention forward/backward on WASM (SIMD GEMMs + row softmax) vs the f64 CPU reference. */
import fc from 'fast-check';
import { suite } from 'uvu';
import { Tensor } from '../../core/index.ts';
import { cpu, expectParity, pair, RUNS, sizeOf, values, wasm } from './harness.ts';
import { expectClose } from '../support/close.ts';

const test = suite('wasm attention parity');
test.after(() => wasm.dispose());

const tol = { atol: 2e-5, rtol: 2e-4 };
/** Wraps raw kernel outputs as tensors (the kernels are called directly, below the autograd front end). */
const wrap = (bk: typeof cpu | typeof wasm, id: number, shape: number[]): Tensor =>
  new Tensor(bk, id, shape, bk === cpu ? 'f64' : 'f32');

function check(
  B: number,
  H: number,
  Tq: number,
  Tk: number,
  Dh: number,
  biasShape: number[] | undefined,
  seed: number,
  mask = false,
): void {
  const qs = [B, H, Tq, Dh],
    ks = [B, H, Tk, Dh];
  const [qc, qw] = pair(values(seed, sizeOf(qs)), qs),
    [kc, kw] = pair(values(seed + 1, sizeOf(ks)), ks),
    [vc, vw] = pair(values(seed + 2, sizeOf(ks)), ks);
  let bc: Tensor | undefined, bw: Tensor | undefined;
  if (biasShape) {
    const bv = values(seed + 3, sizeOf(biasShape), -1, 1);
    if (mask) for (let i = 0; i < bv.length; i++) if (i % 3 === 0) bv[i] = -3.4028234663852886e38; // HF's finfo.min mask
    if (mask && biasShape.length === 4 && biasShape[2] === Tq) bv.fill(-Infinity, 0, Tk); // one row with no keys at all
    [bc, bw] = pair(bv, biasShape);
  }
  const scale = 1 / Math.sqrt(Dh),
    label = `attn B${B} H${H} Tq${Tq} Tk${Tk} Dh${Dh} bias ${JSON.stringify(biasShape)}`;
  const rc = cpu.attention(qc, kc, vc, bc, scale),
    rw = wasm.attention(qw, kw, vw, bw, scale);
  const oc = wrap(cpu, rc.out, qs),
    lc = wrap(cpu, rc.lse, [B, H, Tq]),
    ow = wrap(wasm, rw.out, qs),
    lw = wrap(wasm, rw.lse, [B, H, Tq]);
  expectClose(ow.dataSync(), oc.dataSync(), tol, `${label} out`);
  expectClose(lw.dataSync(), lc.dataSync(), tol, `${label} lse`);
  const [gc, gw] = pair(values(seed + 4, sizeOf(qs)), qs);
  const bcw = cpu.attentionBackward(gc, qc, kc, vc, bc, oc, lc, scale);
  // the forward's kept P (keyed by its lse storage), then P recomputed (an lse copy has no P attached)
  const lseCopy = wrap(wasm, wasm.upload(Float32Array.from(lw.dataSync()), 'f32'), [B, H, Tq]);
  for (const [path, l] of [
    ['saved P', lw],
    ['recomputed P', lseCopy],
  ] as const) {
    const bww = wasm.attentionBackward(gw, qw, kw, vw, bw, ow, l, scale);
    for (const [name, shape] of [
      ['dq', qs],
      ['dk', ks],
      ['dv', ks],
    ] as const) {
      const ref = wrap(cpu, bcw[name], shape);
      ref.backend.incRef(ref.id); // expectParity disposes the reference; it serves both paths
      expectParity(wrap(wasm, bww[name], shape), ref, tol, `${label} ${name} (${path})`);
    }
  }
}

test('random shapes, broadcast biases, tails (Tk % 4 ≠ 0)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 13 }),
      fc.integer({ min: 1, max: 13 }),
      fc.integer({ min: 1, max: 17 }),
      fc.constantFrom('none', 'mask', 'full', 'row'),
      fc.nat(1 << 20),
      (B, H, Tq, Tk, Dh, kind, seed) => {
        const bias =
          kind === 'none' ? undefined : kind === 'mask' ? [B, 1, 1, Tk] : kind === 'full' ? [B, H, Tq, Tk] : [Tq, 1];
        check(B, H, Tq, Tk, Dh, bias, seed);
      },
    ),
    RUNS(40),
  );
});

test('BERT shape with the finfo.min padding mask, across the thread split', () => {
  check(2, 4, 84, 84, 64, [2, 1, 1, 84], 5, true);
  check(1, 2, 7, 5, 8, [1, 1, 7, 5], 6, true);
});

test('the kept P lives exactly as long as the lse it is keyed by', () => {
  const qs = [2, 4, 84, 64],
    bs = [2, 1, 1, 84];
  const step = () => {
    const [, q] = pair(values(1, sizeOf(qs)), qs),
      [, k] = pair(values(2, sizeOf(qs)), qs),
      [, v] = pair(values(3, sizeOf(qs)), qs),
      [, b] = pair(values(4, 168), bs);
    const r = wasm.attention(q, k, v, b, 0.125);
    const out = wrap(wasm, r.out, qs),
      lse = wrap(wasm, r.lse, qs.slice(0, 3));
    const g = wasm.attentionBackward(q, q, k, v, b, out, lse, 0.125);
    for (const t of [q, k, v, b, out, lse]) t.dispose();
    for (const id of [g.dq, g.dk, g.dv]) wasm.decRef(id);
  };
  step();
  const reserved = wasm.heapBytes;
  for (let i = 0; i < 5; i++) step();
  if (wasm.heapBytes !== reserved)
    throw new Error(
      `heap grew from ${reserved} to ${wasm.heapBytes} bytes over 5 attention steps: a kept P was not freed`,
    );
});

test.run();
