/**
 * Parity: the fused WGSL attention forward (out, lse) and backward (dq, dk, dv) against the CPU
 * reference (core/backend/cpu/attention.ts, f64) over generated shapes — Tq ≠ Tk, Dh 1..64 (padded
 * to vec4s), sizes around the tile and workgroup edges, and every bias layout (none, [B,1,1,Tk] padding
 * mask with finfo.min, [Tq,Tk], [1,H,Tq,Tk]) — plus fully masked rows, and the front end's fused
 * `attention` against the composite on the GPU.
 */
import fc from 'fast-check';
import { attentionComposite, fusedAttention, Tensor, vjp, type Backend } from '../../core/index.ts';
import { tolFor } from '../../kernels/wgsl/attention.ts';
import { cpu, expectParity, gpuSuite, pair, RUNS, sizeOf, values } from './harness.ts';

const { test, gpu } = await gpuSuite('attention parity');
const FMIN = -3.4028234663852886e38;
type BiasKind = 'none' | 'mask' | 'rel' | 'head';

interface Case {
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  Dh: number;
  kind: BiasKind;
  seed: number;
  scale: number;
}

const caseArb = fc.record({
  B: fc.integer({ min: 1, max: 2 }),
  H: fc.integer({ min: 1, max: 3 }),
  Tq: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constantFrom(31, 32, 33, 64, 65)),
  Tk: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constantFrom(17, 31, 32, 33, 70)),
  Dh: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constantFrom(16, 31, 64)),
  kind: fc.constantFrom<BiasKind>('none', 'mask', 'rel', 'head'),
  seed: fc.nat(1 << 20),
  scale: fc.constantFrom(0.125, 0.5, 1),
});

function biasData(c: Case): { data: Float32Array; shape: number[] } | undefined {
  if (c.kind === 'none') return undefined;
  if (c.kind === 'rel') return { data: values(c.seed + 9, c.Tq * c.Tk, -1, 1), shape: [c.Tq, c.Tk] };
  if (c.kind === 'head') return { data: values(c.seed + 9, c.H * c.Tq * c.Tk, -1, 1), shape: [1, c.H, c.Tq, c.Tk] };
  const keep = values(c.seed + 9, c.B * c.Tk, 0, 1);
  return { data: keep.map((u, i) => (u < 0.7 || i % c.Tk === 0 ? 0 : FMIN)), shape: [c.B, 1, 1, c.Tk] };
}

/** Both sides' inputs: q, k, v, bias?, dOut. */
function inputs(g: Backend, c: Case, bias = biasData(c)) {
  const qs = [c.B, c.H, c.Tq, c.Dh],
    ks = [c.B, c.H, c.Tk, c.Dh];
  const q = pair(g, values(c.seed, sizeOf(qs)), qs),
    k = pair(g, values(c.seed + 1, sizeOf(ks)), ks);
  const v = pair(g, values(c.seed + 2, sizeOf(ks)), ks),
    dOut = pair(g, values(c.seed + 3, sizeOf(qs)), qs);
  const b = bias && pair(g, bias.data, bias.shape);
  return { q, k, v, dOut, b };
}

/** Forward + backward through the backend directly on one side (0 = CPU, 1 = GPU). */
function side(bk: Backend, side: 0 | 1, ins: ReturnType<typeof inputs>, c: Case): Tensor[] {
  const [q, k, v, dOut] = [ins.q[side], ins.k[side], ins.v[side], ins.dOut[side]];
  const bias = ins.b?.[side];
  const f = bk.attention(q, k, v, bias, c.scale);
  const out = new Tensor(bk, f.out, q.shape, q.dtype),
    lse = new Tensor(bk, f.lse, q.shape.slice(0, 3), q.dtype);
  const g = bk.attentionBackward(dOut, q, k, v, bias, out, lse, c.scale);
  return [
    out,
    lse,
    new Tensor(bk, g.dq, q.shape, q.dtype),
    new Tensor(bk, g.dk, k.shape, k.dtype),
    new Tensor(bk, g.dv, v.shape, v.dtype),
  ];
}

async function check(g: Backend, c: Case, bias = biasData(c)): Promise<void> {
  const ins = inputs(g, c, bias);
  const ref = side(cpu, 0, ins, c),
    got = side(g, 1, ins, c);
  const label = (n: string) => `${n} ${JSON.stringify(c)}`;
  const tols = [tolFor(c.Tk), tolFor(c.Dh), tolFor(c.Tk * c.Dh), tolFor(c.Tq * c.Dh), tolFor(c.Tq)];
  for (const [i, n] of ['out', 'lse', 'dq', 'dk', 'dv'].entries()) {
    // a fully finfo.min row has lse ≈ finfo.min: compare it relative only
    const tol = n === 'lse' && c.kind === 'mask' ? { atol: tols[i]!.atol, rtol: 1e-6 } : tols[i]!;
    await expectParity(got[i]!, ref[i]!, tol, label(n));
  }
  for (const t of [...ins.q, ...ins.k, ...ins.v, ...ins.dOut, ...(ins.b ?? [])]) t.dispose();
}

if (gpu) {
  const g = gpu;

  test('forward (out, lse) and backward (dq, dk, dv) over generated shapes and bias layouts', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, (c) => check(g, c)),
      RUNS(24),
    );
  });

  test('BERT-like shapes: prefix keys (Tk = m + T), Dh 64, padding mask', async () => {
    for (const [Tq, Tk] of [
      [12, 20],
      [40, 40],
      [7, 135],
    ] as const) {
      await check(g, { B: 2, H: 2, Tq, Tk, Dh: 64, kind: 'mask', seed: Tq * 7 + Tk, scale: 0.125 });
    }
  });

  test('fully masked rows: finfo.min is uniform as the reference, −∞ gives zeros, never NaN', async () => {
    const c: Case = { B: 2, H: 2, Tq: 3, Tk: 5, Dh: 6, kind: 'mask', seed: 5, scale: 0.5 };
    for (const val of [FMIN, -Infinity]) {
      const data = new Float32Array([val, val, val, val, val, 0, val, 0, val, val]);
      await check(g, c, { data, shape: [2, 1, 1, 5] });
    }
  });

  test('front end on the GPU: fusedAttention values and vjp equal the composite (f32)', async () => {
    const c: Case = { B: 2, H: 3, Tq: 9, Tk: 13, Dh: 8, kind: 'mask', seed: 77, scale: 0.35 };
    const ins = inputs(g, c);
    const run = (f: typeof fusedAttention) => {
      const [y, pull] = vjp(
        ([a, b, v]: [Tensor, Tensor, Tensor]) => f(a, b, v, ins.b![1], c.scale),
        [ins.q[1], ins.k[1], ins.v[1]],
      );
      return [y, ...pull(ins.dOut[1])];
    };
    const fused = run(fusedAttention),
      comp = run((a, b, v, bias, s) => attentionComposite(a, b, v, bias, s));
    for (const [i, n] of ['out', 'dq', 'dk', 'dv'].entries()) {
      const want = Float64Array.from(await comp[i]!.data());
      await expectParity(
        fused[i]!,
        new Tensor(cpu, cpu.upload(want, 'f64'), comp[i]!.shape, 'f64'),
        tolFor(c.Tk * c.Dh),
        n,
      );
    }
  });
}

test.run();
