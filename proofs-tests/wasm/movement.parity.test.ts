/** Parity: the f32 strided gather (permute / expand / slice / any affine view) vs the CPU reference. */
import fc from 'fast-check';
import { suite } from 'uvu';
import { permute, Tensor } from '../../core/index.ts';
import { createWasmBackend } from '../../core/backend/wasm/index.ts';
import { cpu, expectParity, pair, RUNS, values, wasm } from './harness.ts';

const test = suite('wasm strided parity');
const wasm1 = createWasmBackend({ threads: 1 });
test.after(() => { wasm.dispose(); wasm1.dispose(); });

test('random affine views (strides −3…3, zero strides, merged axes)', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: -3, max: 3 })), { minLength: 0, maxLength: 4 }), fc.nat(1 << 20), (axes, seed) => {
    const shape = axes.map(([d]) => d), strides = axes.map(([, s]) => s);
    const offset = axes.reduce((a, [d, s]) => a + Math.max(0, -(d - 1) * s), 0);
    const len = offset + axes.reduce((a, [d, s]) => a + Math.max(0, (d - 1) * s), 0) + 1;
    const [c, w] = pair(values(seed, len), [len]);
    const got = new Tensor(wasm, wasm.strided(w, shape, strides, offset), shape, 'f32');
    const ref = new Tensor(cpu, cpu.strided(c, shape, strides, offset), shape, 'f64');
    expectParity(got, ref, { atol: 0, rtol: 0 }, `strided ${JSON.stringify(shape)} ${JSON.stringify(strides)} +${offset}`);
  }), RUNS(80));
});

test('large views with a contiguous last axis (the WASM row copy): odd widths, negative / zero / overlapping outer strides, 1 and 2 threads', () => {
  fc.assert(fc.property(fc.constantFrom(1, 3, 5, 64, 67, 128), fc.integer({ min: 1, max: 9 }), fc.integer({ min: -3, max: 3 }), fc.integer({ min: -3, max: 3 }),
    fc.nat(1 << 20), (n, a, ka, kb, seed) => {
      const b = Math.ceil(40000 / (n * a)); // past the kernel's size threshold
      const shape = [a, b, n], strides = [ka * b * n + kb, kb * n + ka, 1];
      const offset = shape.reduce((acc, d, i) => acc + Math.max(0, -(d - 1) * strides[i]!), 0);
      const len = offset + shape.reduce((acc, d, i) => acc + Math.max(0, (d - 1) * strides[i]!), 0) + 1;
      for (const bk of [wasm1, wasm]) {
        const data = values(seed, len);
        const w = new Tensor(bk, bk.upload(data, 'f32'), [len], 'f32'), c = new Tensor(cpu, cpu.upload(Float64Array.from(data), 'f64'), [len], 'f64');
        const got = new Tensor(bk, bk.strided(w, shape, strides, offset), shape, 'f32');
        expectParity(got, new Tensor(cpu, cpu.strided(c, shape, strides, offset), shape, 'f64'), { atol: 0, rtol: 0 }, `${bk.threads}t strided [${shape}] [${strides}] +${offset}`);
        w.dispose(); c.dispose();
      }
    }), RUNS(30));
});

test('attention head split / merge permutes', () => {
  const [c, w] = pair(values(3, 2 * 84 * 4 * 64), [2, 84, 4, 64]);
  expectParity(permute(w, [0, 2, 1, 3]), permute(c, [0, 2, 1, 3]), { atol: 0, rtol: 0 }, 'permute 0213');
});

test.run();
