/** Parity: the f32 strided gather (permute / expand / slice / any affine view) vs the CPU reference. */
import fc from 'fast-check';
import { suite } from 'uvu';
import { permute, Tensor } from '../../core/index.ts';
import { cpu, expectParity, pair, RUNS, values, wasm } from './harness.ts';

const test = suite('wasm strided parity');
test.after(() => wasm.dispose());

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

test('attention head split / merge permutes', () => {
  const [c, w] = pair(values(3, 2 * 84 * 4 * 64), [2, 84, 4, 64]);
  expectParity(permute(w, [0, 2, 1, 3]), permute(c, [0, 2, 1, 3]), { atol: 0, rtol: 0 }, 'permute 0213');
});

test.run();
