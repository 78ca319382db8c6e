import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { parseSafetensorsOrThrow } from './safetensors.ts';
import { parseTorchBin, parseTorchBinOrThrow } from './torch-bin.ts';
import { stateDictPickle, torchSave, torchSaveTensors, writeZip } from '../testing/torch-save.ts';
import type { TorchEntry, TorchStorage } from '../testing/torch-save.ts';

const FIX = new URL('../../../fixtures/hf-reference/', import.meta.url);
const bertTensors = () =>
  parseSafetensorsOrThrow(
    new Uint8Array(readFileSync(new URL('bert-tiny/model.safetensors', FIX))),
    'model.safetensors',
  ).tensors;

const err = (r: E.Either<{ message: string; kind: string }, unknown>): { message: string; kind: string } => {
  assert.ok(E.isLeft(r), 'expected an error');
  return (r as E.Left<{ message: string; kind: string }>).left;
};
const f32Bytes = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);
const zipWith = (pkl: Uint8Array, extra: [string, Uint8Array][] = []) =>
  writeZip([['archive/data.pkl', pkl], ...extra]);

// Output of testing/emulate-torch-pickle.py: CPython's pickler (protocol 2) on a state_dict with
// torch's reduce protocol and persistent ids emulated; the same structure as GOLDEN_ENTRIES.
const GOLDEN =
  '800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710128580d000000626572742e612e776569676874710263746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a71032828580700000073746f72616765710463746f7263680a466c6f617453746f726167650a71055801000000307106580300000063707571074b06747108514b004b024b038671094b034b0186710a8968002952710b74710c52710d5808000000626572742e612e74710e6803282868046805680668074b0674710f514b004b034b028671104b014b03867111896800295271127471135271145808000000626572742e696473711568032828680463746f7263680a4c6f6e6753746f726167650a7116580100000031711768074d2c01747118514b044b014d28018671194d28014b0186711a8968002952711b74711c52711d5808000000626572742e626967711e63746f7263682e5f7574696c730a5f72656275696c645f706172616d657465720a711f6803282868046805580100000032712068074a70110100747121514b0129298968002952712274712352712488680029527125877126527127757d712858090000005f6d65746164617461712968002952712a285800000000712b7d712c580700000076657273696f6e712d4b0173580400000062657274712e7d712f682d4b0173580f000000626572742e656d62656464696e677371307d7131682d4b01737573622e';
const GOLDEN_STORAGES = new Map<string, TorchStorage>([
  ['0', { type: 'FloatStorage', bytes: f32Bytes([1, 2, 3, 4, 5, 6]) }],
  [
    '1',
    {
      type: 'LongStorage',
      bytes: new Uint8Array(BigInt64Array.from({ length: 300 }, (_, i) => BigInt(i - 150)).buffer),
    },
  ],
  ['2', { type: 'FloatStorage', bytes: new Uint8Array(Float32Array.from({ length: 70000 }, (_, i) => i / 7).buffer) }],
]);
const GOLDEN_ENTRIES: TorchEntry[] = [
  { name: 'bert.a.weight', storageKey: '0', offset: 0, size: [2, 3], stride: [3, 1] },
  { name: 'bert.a.t', storageKey: '0', offset: 0, size: [3, 2], stride: [1, 3] },
  { name: 'bert.ids', storageKey: '1', offset: 4, size: [1, 296], stride: [296, 1] },
  { name: 'bert.big', storageKey: '2', offset: 1, size: [], stride: [], parameter: true },
];

test('the test writer emits the bytes CPython pickles for a torch state_dict', () => {
  assert.is(Buffer.from(stateDictPickle(GOLDEN_ENTRIES, GOLDEN_STORAGES)).toString('hex'), GOLDEN);
});

test('views: shared storage, transpose, offset, LongStorage, Parameter, scalar', () => {
  const bin = torchSave(GOLDEN_ENTRIES, GOLDEN_STORAGES);
  const t = new Map(parseTorchBinOrThrow(bin, 'views.bin').map((x) => [x.name, x]));
  assert.equal(Array.from(t.get('bert.a.weight')!.data), [1, 2, 3, 4, 5, 6]);
  assert.equal(t.get('bert.a.t')!.shape, [3, 2]);
  assert.equal(Array.from(t.get('bert.a.t')!.data), [1, 4, 2, 5, 3, 6]);
  const ids = t.get('bert.ids')!;
  assert.is(ids.dtype, 'i32');
  assert.equal(ids.shape, [1, 296]);
  assert.equal(Array.from(ids.data.subarray(0, 3)), [-146, -145, -144]);
  const big = t.get('bert.big')!;
  assert.equal(big.shape, []);
  assert.equal(Array.from(big.data), [Math.fround(1 / 7)]);
});

test('bert-tiny tensors survive torch.save → loader unchanged (all archive variants)', () => {
  const src = bertTensors();
  const variants = [
    torchSaveTensors(src),
    torchSaveTensors(src, { archiveName: 'pytorch_model', metadata: false }),
    torchSaveTensors(src, { deflate: true }),
  ];
  for (const bin of variants) {
    const back = parseTorchBinOrThrow(bin, 'pytorch_model.bin');
    assert.is(back.length, src.length);
    back.forEach((b, i) => {
      const a = src[i]!;
      assert.is(b.name, a.name);
      assert.equal(b.shape, a.shape);
      assert.is(b.dtype, 'f32');
      assert.equal(
        Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength),
        Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength),
        a.name,
      );
    });
  }
  const f64 = parseTorchBinOrThrow(variants[0]!, 'x.bin', { floatDtype: 'f64' });
  assert.ok(f64[0]!.data instanceof Float64Array);
  assert.equal(Array.from(f64[0]!.data), Array.from(src[0]!.data));
});

test('half and bfloat16 storages decode exactly', () => {
  const storages = new Map<string, TorchStorage>([
    ['0', { type: 'HalfStorage', bytes: new Uint8Array(Uint16Array.from([0x3c00, 0xc000, 0x0001]).buffer) }],
    ['1', { type: 'BFloat16Storage', bytes: new Uint8Array(Uint16Array.from([0x3f80, 0x4049]).buffer) }],
    ['2', { type: 'DoubleStorage', bytes: new Uint8Array(Float64Array.from([0.1]).buffer) }],
    ['3', { type: 'IntStorage', bytes: new Uint8Array(Int32Array.from([-7]).buffer) }],
  ]);
  const entries: TorchEntry[] = [...storages.keys()].map((k) => ({
    name: `t${k}`,
    storageKey: k,
    offset: 0,
    size: [storages.get(k)!.bytes.length / (k === '2' ? 8 : k === '3' ? 4 : 2)],
    stride: [1],
  }));
  const out = parseTorchBinOrThrow(torchSave(entries, storages), 'h.bin', { floatDtype: 'f64' });
  assert.equal(
    out.map((t) => Array.from(t.data)),
    [[1, -2, 2 ** -24], [1, 3.140625], [0.1], [-7]],
  );
  assert.equal(
    out.map((t) => t.dtype),
    ['f64', 'f64', 'f64', 'i32'],
  );
});

const pickle = (...parts: (string | number[])[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

test('hostile pickles: refused globals are named', () => {
  const osSystem = pickle([0x80, 2], 'cos\nsystem\nq\x00X\x02\x00\x00\x00ls\x85R.');
  const e1 = err(parseTorchBin(zipWith(osSystem), 'evil.bin'));
  assert.is(e1.kind, 'refused');
  assert.match(e1.message, /^evil\.bin: archive\/data\.pkl: byte \d+: refused global os\.system/);
  const legacy = pickle([0x80, 2], 'ctorch.storage\n_load_from_bytes\n.');
  assert.match(err(parseTorchBin(zipWith(legacy), 'l.bin')).message, /refused global torch\.storage\._load_from_bytes/);
  const builtins = pickle([0x80, 2], 'c__builtin__\neval\n.');
  assert.match(err(parseTorchBin(zipWith(builtins), 'b.bin')).message, /refused global __builtin__\.eval/);
  const stackGlobal = pickle([0x80, 4], [0x8c, 5], 'posix', [0x8c, 6], 'system', [0x93], '.');
  assert.match(err(parseTorchBin(zipWith(stackGlobal), 's.bin')).message, /refused global posix\.system/);
});

test('hostile pickles: bad opcodes, truncation, wrong structure', () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [pickle([0x80, 2], 'i'), /opcode 0x69 is not supported/],
    [pickle([0x80, 2], 'X', [0xff, 0xff, 0xff, 0x7f], 'abc'), /truncated/],
    [pickle([0x80, 2], '}'), /ended without STOP/],
    [pickle([0x80, 2], '.'), /stack underflow/],
    [pickle([0x80, 2], 'h', [7], '.'), /memo key 7 was never stored/],
    [pickle([0x80, 2], 'u.'), /no MARK/],
    [pickle([0x80, 2], 'K', [1], '.'), /top-level object is number, expected a state_dict/],
    [pickle([0x80, 2], '}X', [1, 0, 0, 0], 'aK', [3], 's.'), /"a" is a number, not a tensor/],
    [
      pickle([0x80, 2], 'ccollections\nOrderedDict\nK', [1], [0x85], 'R.'),
      /cannot call collections\.OrderedDict with 1 arguments/,
    ],
    [pickle([0x80, 9]), /unsupported pickle protocol 9/],
    [stateDictPickle(GOLDEN_ENTRIES, GOLDEN_STORAGES).subarray(0, 200), /ended without STOP|truncated/],
  ];
  for (const [pkl, re] of cases) {
    const e = err(
      parseTorchBin(
        zipWith(
          pkl,
          [...GOLDEN_STORAGES].map(([k, s]): [string, Uint8Array] => [`archive/data/${k}`, s.bytes]),
        ),
        'bad.bin',
      ),
    );
    assert.ok(e.message.startsWith('bad.bin: archive/data.pkl: '), e.message);
    assert.match(e.message, re);
  }
});

test('storage problems: missing, wrong size, out-of-bounds views', () => {
  const st = (n: number) =>
    new Map<string, TorchStorage>([['0', { type: 'FloatStorage', bytes: new Uint8Array(4 * n) }]]);
  const entry = (e: Partial<TorchEntry>): TorchEntry[] => [
    { name: 'w', storageKey: '0', offset: 0, size: [2, 2], stride: [2, 1], ...e },
  ];
  const oob = err(parseTorchBin(torchSave(entry({ offset: 1 }), st(4)), 'o.bin'));
  assert.match(
    oob.message,
    /^o\.bin: tensor "w" \[2, 2\] \(storage 0, offset 1, stride \[2, 1\]\) reaches element 4 of a storage with 4/,
  );
  assert.match(
    err(parseTorchBin(torchSave(entry({ size: [2, 10 ** 12], stride: [0, 0] }), st(4)), 'x.bin')).message,
    /larger than its storage/,
  );
  // A pickle whose pid claims 4 elements, with a storage record of 3.
  const pkl = stateDictPickle(entry({}), st(4));
  assert.match(
    err(parseTorchBin(zipWith(pkl, [['archive/data/0', new Uint8Array(12)]]), 'sz.bin')).message,
    /archive\/data\/0 holds 12 bytes, 4 × FloatStorage needs 16/,
  );
  assert.match(err(parseTorchBin(zipWith(pkl), 'm.bin')).message, /archive has no archive\/data\/0/);
});

test('not a torch zip: legacy format, random bytes, truncated archives', () => {
  assert.is(err(parseTorchBin(pickle([0x80, 2, 0x8a, 0x0a]), 'old.bin')).kind, 'unsupported');
  assert.match(err(parseTorchBin(new Uint8Array([1, 2, 3]), 'r.bin')).message, /^r\.bin: not a torch\.save zip/);
  const bin = torchSaveTensors(bertTensors().slice(0, 3));
  for (const cut of [10, 100, bin.length - 30, bin.length - 1]) {
    const e = err(parseTorchBin(bin.subarray(0, cut), 'cut.bin'));
    assert.ok(e.message.startsWith('cut.bin: '), e.message);
  }
  assert.match(
    err(
      parseTorchBin(
        writeZip([
          ['a/data.pkl', new Uint8Array(1)],
          ['b/data.pkl', new Uint8Array(1)],
        ]),
        'two.bin',
      ),
    ).message,
    /exactly one <folder>\/data\.pkl/,
  );
  const noPkl = writeZip([['archive/version', new Uint8Array(1)]]);
  assert.match(err(parseTorchBin(noPkl, 'np.bin')).message, /found 0/);
});

test.run();
