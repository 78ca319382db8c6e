/** Data movement: reshape, permute, transpose, broadcastTo, slice, pad, concat, split, stack, expandDims, squeeze. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  broadcastTo,
  concat,
  cpuBackend,
  expandDims,
  pad,
  permute,
  reshape,
  scope,
  slice,
  split,
  squeeze,
  stack,
  sum,
  tensor,
  transpose,
  valueAndGrad,
  type Tensor,
} from '../../core/index.ts';
import { axisArb, forAll, seedArb, shapeArb, toTensor, valuesArb, type TensorSpec } from '../support/arbitraries.ts';
import { forEachIndex } from '../support/broadcast-ref.ts';
import { expectClose } from '../support/close.ts';
import { checkVjp } from '../support/gradcheck.ts';

const bk = cpuBackend();
const EXACT = { atol: 0, rtol: 0 };
const tensorWithShape = (minRank = 0) => shapeArb({ minRank }).chain((sh) => valuesArb(sh));
const flatIndex = (shape: readonly number[], idx: readonly number[]) => shape.reduce((o, d, i) => o * d + idx[i]!, 0);

/** out[idx] = value at src(idx) (undefined → fill), over `shape`. */
function mapRef(shape: readonly number[], src: (idx: readonly number[]) => number | undefined, fill = 0): Float64Array {
  const out = new Float64Array(shape.reduce((a, b) => a * b, 1));
  forEachIndex(shape, (idx, k) => {
    out[k] = src(idx) ?? fill;
  });
  return out;
}

/** Checks the VJP and the forward values against `ref` (values of the result, in order). */
function check(
  label: string,
  xs: TensorSpec[],
  f: (ts: readonly Tensor[]) => Tensor,
  ref: Float64Array,
  seed: number,
): void {
  const ts = xs.map((s) => toTensor(bk, s));
  expectClose(f(ts), ref, EXACT, label);
  checkVjp((p) => f(p), ts, { seed, label });
}

test('reshape (with -1 and inserted size-1 axes)', () => {
  forAll(
    bk,
    fc.tuple(tensorWithShape(), fc.boolean(), fc.integer({ min: 0, max: 4 }), seedArb),
    ([s, useInfer, ones, seed]) => {
      const target = [...s.shape].reverse();
      target.splice(Math.min(ones, target.length), 0, 1);
      if (useInfer && target.length > 0) target[0] = -1;
      check(`reshape ${target}`, [s], ([x]) => reshape(x!, target), s.values, seed);
    },
  );
});

const permArb = shapeArb().chain((sh) =>
  fc.tuple(
    valuesArb(sh),
    fc.shuffledSubarray(
      sh.map((_, i) => i),
      { minLength: sh.length, maxLength: sh.length },
    ),
    seedArb,
  ),
);
test('permute', () => {
  forAll(bk, permArb, ([s, perm, seed]) => {
    const shape = perm.map((p) => s.shape[p]!);
    const ref = mapRef(shape, (idx) => {
      const src = new Array<number>(perm.length);
      perm.forEach((p, i) => {
        src[p] = idx[i]!;
      });
      return s.values[flatIndex(s.shape, src)];
    });
    check(`permute ${perm}`, [s], ([x]) => permute(x!, perm), ref, seed);
  });
});

test('transpose (two random axes, negative allowed)', () => {
  forAll(
    bk,
    shapeArb({ minRank: 1 }).chain((sh) => fc.tuple(valuesArb(sh), axisArb(sh.length), axisArb(sh.length), seedArb)),
    ([s, a, b, seed]) => {
      const r = s.shape.length,
        i = (a + r) % r,
        j = (b + r) % r;
      const perm = s.shape.map((_, k) => (k === i ? j : k === j ? i : k));
      const shape = perm.map((p) => s.shape[p]!);
      const ref = mapRef(shape, (idx) => {
        const src = [...idx];
        [src[i], src[j]] = [idx[j]!, idx[i]!];
        return s.values[flatIndex(s.shape, src)];
      });
      check(`transpose ${a} ${b}`, [s], ([x]) => transpose(x!, a, b), ref, seed);
    },
  );
});

const bcastArb = fc
  .tuple(
    shapeArb({ maxSize: 128 }),
    fc.integer({ min: 0, max: 4 }),
    fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  )
  .chain(([out, drop, ones]) =>
    fc.tuple(
      fc.constant(out),
      valuesArb(out.slice(Math.min(drop, out.length)).map((d, i) => (ones[i] ? 1 : d))),
      seedArb,
    ),
  );
test('broadcastTo (new leading axes and size-1 axes)', () => {
  forAll(bk, bcastArb, ([out, s, seed]) => {
    const off = out.length - s.shape.length;
    const ref = mapRef(
      out,
      (idx) =>
        s.values[
          flatIndex(
            s.shape,
            s.shape.map((d, i) => (d === 1 ? 0 : idx[off + i]!)),
          )
        ],
    );
    check(`broadcastTo ${out}`, [s], ([x]) => broadcastTo(x!, out), ref, seed);
  });
});

const sliceArb = tensorWithShape(1).chain((s) =>
  fc.tuple(
    fc.constant(s),
    fc.tuple(
      ...s.shape.map((d) =>
        fc
          .integer({ min: 0, max: d - 1 })
          .chain((b) =>
            fc.tuple(fc.constant(b), fc.constantFrom(-1, ...Array.from({ length: d - b }, (_, k) => k + 1))),
          ),
      ),
    ),
    seedArb,
  ),
);
test('slice (sizes of -1 run to the end)', () => {
  forAll(bk, sliceArb, ([s, bs, seed]) => {
    const begin = bs.map(([b]) => b),
      size = bs.map(([b, n], i) => (n === -1 ? s.shape[i]! - b : n));
    const ref = mapRef(
      size,
      (idx) =>
        s.values[
          flatIndex(
            s.shape,
            idx.map((v, i) => v + begin[i]!),
          )
        ],
    );
    check(
      `slice ${begin} ${bs.map(([, n]) => n)}`,
      [s],
      ([x]) =>
        slice(
          x!,
          begin,
          bs.map(([, n]) => n),
        ),
      ref,
      seed,
    );
  });
});

const padArb = tensorWithShape().chain((s) =>
  fc.tuple(
    fc.constant(s),
    fc.array(fc.integer({ min: 0, max: 2 }), { minLength: s.shape.length, maxLength: s.shape.length }),
    fc.array(fc.integer({ min: 0, max: 2 }), { minLength: s.shape.length, maxLength: s.shape.length }),
    fc.constantFrom(0, -1.5),
    seedArb,
  ),
);
test('pad (zero and non-zero fill)', () => {
  forAll(bk, padArb, ([s, before, after, value, seed]) => {
    const shape = s.shape.map((d, i) => d + before[i]! + after[i]!);
    const ref = mapRef(
      shape,
      (idx) => {
        const src = idx.map((v, i) => v - before[i]!);
        return src.every((v, i) => v >= 0 && v < s.shape[i]!) ? s.values[flatIndex(s.shape, src)] : undefined;
      },
      value,
    );
    check(`pad ${before} ${after}`, [s], ([x]) => pad(x!, before, after, value), ref, seed);
  });
});

const concatArb = shapeArb({ minRank: 1, maxSize: 64 }).chain((base) =>
  fc
    .tuple(axisArb(base.length), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }))
    .chain(([axis, sizes]) => {
      const ax = (axis + base.length) % base.length;
      return fc.tuple(
        fc.constant(axis),
        fc.tuple(...sizes.map((n) => valuesArb(base.map((d, i) => (i === ax ? n : d))))),
        seedArb,
      );
    }),
);
test('concat and split are inverse; both have exact VJPs', () => {
  forAll(bk, concatArb, ([axis, parts, seed]) => {
    const r = parts[0]!.shape.length,
      ax = (axis + r) % r;
    const sizes = parts.map((p) => p.shape[ax]!);
    const shape = parts[0]!.shape.map((d, i) => (i === ax ? sizes.reduce((a, b) => a + b, 0) : d));
    const ref = mapRef(shape, (idx) => {
      let k = idx[ax]!,
        p = 0;
      while (k >= sizes[p]!) k -= sizes[p++]!;
      const src = [...idx];
      src[ax] = k;
      return parts[p]!.values[flatIndex(parts[p]!.shape, src)];
    });
    check(`concat axis ${axis}`, parts, (ts) => concat(ts, axis), ref, seed);
    const whole = toTensor(bk, { shape, values: ref });
    split(whole, sizes, axis).forEach((piece, i) => expectClose(piece, parts[i]!.values, EXACT, `split piece ${i}`));
    // split VJP: a loss that uses only some pieces, weighted differently
    checkVjp(
      ([x]) => {
        const ps = split(x, sizes, axis);
        return ps.length > 1 ? concat([ps.at(-1)!, ps[0]!], axis) : ps[0]!;
      },
      [whole],
      { seed, label: 'split' },
    );
  });
});

const stackArb = shapeArb({ maxSize: 64 }).chain((sh) =>
  fc.tuple(
    fc.integer({ min: 1, max: 3 }).chain((n) => fc.tuple(...Array.from({ length: n }, () => valuesArb(sh)))),
    fc.integer({ min: -(sh.length + 1), max: sh.length }),
    seedArb,
  ),
);
test('stack along any axis (negative included) and expandDims / squeeze', () => {
  forAll(bk, stackArb, ([parts, axis, seed]) => {
    const r = parts[0]!.shape.length,
      ax = axis < 0 ? axis + r + 1 : axis;
    const shape = [...parts[0]!.shape.slice(0, ax), parts.length, ...parts[0]!.shape.slice(ax)];
    const ref = mapRef(
      shape,
      (idx) =>
        parts[idx[ax]!]!.values[
          flatIndex(
            parts[0]!.shape,
            idx.filter((_, i) => i !== ax),
          )
        ],
    );
    check(`stack axis ${axis}`, parts, (ts) => stack(ts, axis), ref, seed);
    check(`expandDims ${axis}`, [parts[0]!], ([x]) => expandDims(x!, axis), parts[0]!.values, seed);
    check('squeeze', [parts[0]!], ([x]) => squeeze(expandDims(x!, axis), axis), parts[0]!.values, seed);
  });
});

test('shape-op errors name the op and the shapes', () => {
  scope(bk, () => {
    const x = tensor(
      bk,
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { dtype: 'f64' },
    );
    assert.throws(() => reshape(x, [4, 2]), /reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/);
    assert.throws(() => permute(x, [0, 0]), /permute: \[0, 0\] is not a permutation of the 2 axes of \[2, 3\]/);
    assert.throws(() => broadcastTo(x, [2, 2]), /broadcastTo: shapes \[2, 3\] and \[2, 2\] do not broadcast \(axis -1/);
    assert.throws(() => slice(x, [1, 2], [1, 2]), /slice: begin 2 size 2 is out of range on axis 1 of \[2, 3\]/);
    assert.throws(
      () => concat([x, tensor(bk, [[1, 2]], { dtype: 'f64' })], 0),
      /concat: shapes \[2, 3\], \[1, 2\] differ outside axis 0/,
    );
    assert.throws(() => split(x, [2, 2], 1), /split: sizes \[2,2\] do not add up to axis 1 of \[2, 3\]/);
    assert.throws(() => squeeze(x, 0), /squeeze: axis 0 of \[2, 3\] has size 2, not 1/);
    const [, g] = valueAndGrad((p: Tensor) => sum(slice(p, [0, 1], [2, 1])))(x);
    expectClose(g, [0, 1, 0, 0, 1, 0], EXACT, 'slice grad');
  });
});

test.run();
