import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { parseTorchBin } from '../../models/bert/io/torch-bin.ts';
import { stateDictPickle, torchSave, writeZip } from '../../models/bert/testing/torch-save.ts';
import type { TorchEntry, TorchStorage } from '../../models/bert/testing/torch-save.ts';
import { expectHandled, fcParams } from './fuzz-support.ts';

const FILE = 'fuzz/pytorch_model.bin';
const STORAGES = new Map<string, TorchStorage>([
  ['0', { type: 'FloatStorage', bytes: new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer) }],
  ['1', { type: 'LongStorage', bytes: new Uint8Array(BigInt64Array.from([1n, 2n]).buffer) }],
]);
const ENTRIES: TorchEntry[] = [
  { name: 'w', storageKey: '0', offset: 0, size: [2, 3], stride: [3, 1] },
  { name: 'wt', storageKey: '0', offset: 0, size: [3, 2], stride: [1, 3] },
  { name: 'ids', storageKey: '1', offset: 0, size: [2], stride: [1] },
];
const VALID = torchSave(ENTRIES, STORAGES);
const storageRecords = (): [string, Uint8Array][] => [...STORAGES].map(([k, s]) => [`archive/data/${k}`, s.bytes]);

/** Successful loads must be self-consistent and small (the inputs are tiny). */
function check(r: E.Either<unknown, readonly { shape: readonly number[]; data: { length: number } }[]>): void {
  if (E.isLeft(r)) return;
  for (const t of r.right) {
    assert.is(
      t.data.length,
      t.shape.reduce((a, b) => a * b, 1),
    );
    assert.ok(t.data.length <= 1024);
  }
}

test('random bytes, with and without a zip signature', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.uint8Array({ maxLength: 400 }), (pk, body) => {
      const bytes = pk ? Uint8Array.from([0x50, 0x4b, 3, 4, ...body]) : body;
      check(expectHandled(() => parseTorchBin(bytes, FILE), FILE));
    }),
    fcParams,
  );
});

test('truncated and bit-flipped torch.save archives', () => {
  fc.assert(
    fc.property(
      fc.nat(VALID.length),
      fc.array(fc.tuple(fc.nat(VALID.length - 1), fc.nat(255)), { maxLength: 6 }),
      (cut, flips) => {
        const bytes = VALID.slice(0, Math.max(cut, 2));
        bytes[0] = 0x50;
        bytes[1] = 0x4b;
        for (const [i, v] of flips) if (i >= 2 && i < bytes.length) bytes[i] = v;
        check(expectHandled(() => parseTorchBin(bytes, FILE), FILE));
      },
    ),
    fcParams,
  );
});

test('mutated and random pickles inside a valid archive', () => {
  const pkl = stateDictPickle(ENTRIES, STORAGES);
  // Opcodes the unpickler knows (with plausible operands) plus a few it must refuse.
  const op = fc.oneof(
    fc.constantFrom(
      [0x28],
      [0x7d],
      [0x5d],
      [0x29],
      [0x74],
      [0x85],
      [0x86],
      [0x87],
      [0x4e],
      [0x88],
      [0x89],
      [0x52],
      [0x62],
      [0x73],
      [0x75],
      [0x61],
      [0x65],
      [0x30],
      [0x51],
      [0x2e],
      [0x64],
      [0x6c],
      [0x94],
      [0x93],
      [0x69],
      [0x81],
    ),
    fc.tuple(fc.constantFrom(0x4b, 0x71, 0x68, 0x80), fc.nat(255)).map(([o, a]) => [o, a]),
    fc
      .tuple(fc.constantFrom(0x4a, 0x72, 0x6a, 0x58), fc.uint8Array({ minLength: 4, maxLength: 4 }))
      .map(([o, a]) => [o, ...a]),
    fc.tuple(fc.nat(20), fc.uint8Array({ maxLength: 20 })).map(([n, s]) => [0x8c, n, ...s]),
    fc.tuple(fc.nat(12), fc.uint8Array({ maxLength: 12 })).map(([n, s]) => [0x8a, n, ...s]),
    fc
      .constantFrom(
        'collections\nOrderedDict\n',
        'torch._utils\n_rebuild_tensor_v2\n',
        'torch\nFloatStorage\n',
        'os\nsystem\n',
        'torch.storage\n_load_from_bytes\n',
      )
      .map((g) => [0x63, ...new TextEncoder().encode(g)]),
  );
  const randomPickle = fc.array(op, { maxLength: 40 }).map((ops) => Uint8Array.from([0x80, 2, ...ops.flat()]));
  const mutated = fc
    .tuple(fc.nat(pkl.length), fc.array(fc.tuple(fc.nat(pkl.length - 1), fc.nat(255)), { maxLength: 4 }))
    .map(([cut, flips]) => {
      const b = pkl.slice(0, cut);
      for (const [i, v] of flips) if (i < b.length) b[i] = v;
      return b;
    });
  fc.assert(
    fc.property(fc.oneof(randomPickle, mutated), (p) => {
      const bytes = writeZip([['archive/data.pkl', p], ...storageRecords()]);
      const r = expectHandled(() => parseTorchBin(bytes, FILE), FILE);
      check(r);
      if (E.isLeft(r)) assert.ok(!/os\.system/.test(r.left.message) || r.left.kind === 'refused', r.left.message);
    }),
    fcParams,
  );
});

test.run();
