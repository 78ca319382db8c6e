import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { parseSafetensors, serializeSafetensors } from '../../models/bert/io/safetensors.ts';
import type { RawTensor } from '../../models/bert/io/raw-tensor.ts';
import { expectHandled, fcParams } from './fuzz-support.ts';

const FILE = 'fuzz.safetensors';

function withHeader(headerLen: bigint, header: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLen, true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

/** Decoded tensors must match their shapes and stay within a small multiple of the file size. */
function checkDecoded(bytes: Uint8Array, r: E.Either<unknown, { tensors: readonly RawTensor[] }>): void {
  if (E.isLeft(r)) return;
  let total = 0;
  for (const t of r.right.tensors) {
    assert.is(
      t.data.length,
      t.shape.reduce((a, b) => a * b, 1),
    );
    total += t.data.byteLength;
  }
  assert.ok(total <= 4 * bytes.length, 'decoded more than 4x the file size');
}

const dim = fc.oneof(
  fc.nat(8),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(2 ** 31, 2 ** 53, 1e300, 0.5, NaN),
  fc.string({ maxLength: 2 }),
);
const entry = fc.record(
  {
    dtype: fc.oneof(
      fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I32', 'I64', 'BOOL', 'U8', 'F8_E4M3', 'Q4'),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    shape: fc.oneof(fc.array(dim, { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })),
    data_offsets: fc.oneof(
      fc.tuple(fc.nat(64), fc.nat(64)),
      fc.tuple(fc.integer({ min: -5, max: 2 ** 40 }), fc.integer({ min: -5, max: 2 ** 40 })),
      fc.array(fc.nat(64), { maxLength: 3 }),
      fc.jsonValue({ maxDepth: 1 }),
    ),
  },
  { requiredKeys: [] },
);
const header = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 6 }), fc.constant('__metadata__')),
  fc.oneof(entry, fc.jsonValue({ maxDepth: 2 })),
  { maxKeys: 5 },
);

test('random bytes never crash the parser', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      checkDecoded(
        bytes,
        expectHandled(() => parseSafetensors(bytes, FILE), FILE),
      );
    }),
    fcParams,
  );
});

test('hostile headers: wrong types, huge shapes, bad/overlapping offsets, lying lengths', () => {
  fc.assert(
    fc.property(
      header,
      fc.uint8Array({ maxLength: 128 }),
      fc.oneof(fc.constant(undefined), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 400n })),
      fc.constantFrom<'f32' | 'f64'>('f32', 'f64'),
      (h, data, lenOverride, floatDtype) => {
        const json = new TextEncoder().encode(JSON.stringify(h));
        const bytes = withHeader(lenOverride ?? BigInt(json.length), json, data);
        checkDecoded(
          bytes,
          expectHandled(() => parseSafetensors(bytes, FILE, { floatDtype }), FILE),
        );
      },
    ),
    fcParams,
  );
});

test('truncated and bit-flipped valid files', () => {
  const valid = serializeSafetensors(
    [
      { name: 'a', dtype: 'f32', shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      { name: 'b', dtype: 'i32', shape: [2], data: Int32Array.from([7, 8]) },
      { name: 'c', dtype: 'f64', shape: [1], data: Float64Array.from([9]) },
    ],
    { format: 'pt' },
  );
  fc.assert(
    fc.property(
      fc.nat(valid.length),
      fc.array(fc.tuple(fc.nat(valid.length - 1), fc.nat(255)), { maxLength: 4 }),
      (cut, flips) => {
        const bytes = valid.slice(0, cut);
        for (const [i, v] of flips) if (i < bytes.length) bytes[i] = v;
        checkDecoded(
          bytes,
          expectHandled(() => parseSafetensors(bytes, FILE), FILE),
        );
      },
    ),
    fcParams,
  );
});

test('serialize → parse round-trips arbitrary tensors', () => {
  const tensor = fc
    .tuple(
      fc.string({ minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(3), { maxLength: 3 }),
      fc.constantFrom<'f32' | 'f64' | 'i32'>('f32', 'f64', 'i32'),
    )
    .chain(([name, shape, dtype]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const vals =
        dtype === 'i32'
          ? fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: n, maxLength: n })
          : fc.array(fc.double({ noNaN: true }), { minLength: n, maxLength: n });
      return vals.map((v): RawTensor => ({
        name,
        dtype,
        shape,
        data: dtype === 'i32' ? Int32Array.from(v) : dtype === 'f32' ? Float32Array.from(v) : Float64Array.from(v),
      }));
    });
  fc.assert(
    fc.property(fc.uniqueArray(tensor, { selector: (t) => t.name, maxLength: 5 }), (tensors) => {
      const back = parseSafetensors(serializeSafetensors(tensors), FILE, { floatDtype: 'f64' });
      assert.ok(E.isRight(back));
      if (E.isRight(back)) {
        for (const t of tensors) {
          const u = back.right.tensors.find((x) => x.name === t.name)!;
          assert.equal(u.shape, t.shape);
          assert.equal(Array.from(u.data), Array.from(t.data));
        }
      }
    }),
    fcParams,
  );
});

test.run();
