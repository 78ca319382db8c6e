import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import {
  parseSafetensors,
  parseSafetensorsOrThrow,
  readSafetensorsHeader,
  serializeSafetensors,
} from './safetensors.ts';
import type { RawTensor } from './raw-tensor.ts';

const FIX = new URL('../../../fixtures/hf-reference/', import.meta.url);
const fixture = (p: string) => new Uint8Array(readFileSync(new URL(p, FIX)));

/** A safetensors file from a header object and a data section, built without the code under test. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array {
  const json = Buffer.from(headerText ?? JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function errorOf(r: E.Either<{ message: string }, unknown>): string {
  assert.ok(E.isLeft(r), 'expected an error');
  return (r as E.Left<{ message: string }>).left.message;
}

/** Reads one F32 tensor's first values straight from the bytes, independently of the parser. */
function firstFloats(bytes: Uint8Array, name: string, count: number): number[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { data_offsets: [number, number] }
  >;
  const start = 8 + n + header[name]!.data_offsets[0];
  return Array.from({ length: count }, (_, i) => buf.readFloatLE(start + 4 * i));
}

test('bert-tiny model.safetensors: names, shapes, values', () => {
  const bytes = fixture('bert-tiny/model.safetensors');
  const f = parseSafetensorsOrThrow(bytes, 'bert-tiny/model.safetensors');
  assert.is(f.metadata['format'], 'pt');
  assert.is(f.tensors.length, 42);
  const by = new Map(f.tensors.map((t) => [t.name, t]));
  assert.equal(by.get('bert.embeddings.word_embeddings.weight')!.shape, [800, 32]);
  assert.equal(by.get('bert.embeddings.position_embeddings.weight')!.shape, [64, 32]);
  assert.equal(by.get('bert.encoder.layer.1.intermediate.dense.weight')!.shape, [64, 32]);
  assert.equal(by.get('cls.predictions.bias')!.shape, [800]);
  for (const name of [
    'bert.embeddings.word_embeddings.weight',
    'bert.encoder.layer.0.attention.self.query.bias',
    'cls.predictions.transform.LayerNorm.weight',
  ]) {
    const t = by.get(name)!;
    assert.is(t.dtype, 'f32');
    assert.ok(t.data instanceof Float32Array);
    assert.equal(Array.from(t.data.subarray(0, 5)), firstFloats(bytes, name, 5));
  }
});

test('roberta-tiny model.safetensors, f64 conversion is exact', () => {
  const bytes = fixture('roberta-tiny/model.safetensors');
  const f32 = parseSafetensorsOrThrow(bytes, 'roberta-tiny/model.safetensors');
  const f64 = parseSafetensorsOrThrow(bytes, 'roberta-tiny/model.safetensors', { floatDtype: 'f64' });
  const a = f32.tensors.find((t) => t.name === 'roberta.embeddings.position_embeddings.weight')!;
  const b = f64.tensors.find((t) => t.name === a.name)!;
  assert.equal(a.shape, [66, 32]);
  assert.is(b.dtype, 'f64');
  assert.ok(b.data instanceof Float64Array);
  assert.equal(Array.from(b.data), Array.from(a.data));
  assert.equal(Array.from(a.data.subarray(0, 4)), firstFloats(bytes, a.name, 4));
  assert.ok(f32.tensors.some((t) => t.name === 'lm_head.layer_norm.weight'));
});

test('reference.safetensors: I32 tensors stay i32 and select skips the rest', () => {
  const f = parseSafetensorsOrThrow(fixture('bert-tiny/reference.safetensors'), 'reference.safetensors', {
    select: (n) => n.startsWith('forward.input_ids') || n === 'peft.labels',
  });
  assert.equal(f.tensors.map((t) => t.name).sort(), ['forward.input_ids', 'peft.labels']);
  const ids = f.tensors.find((t) => t.name === 'forward.input_ids')!;
  assert.is(ids.dtype, 'i32');
  assert.equal(ids.shape, [3, 27]);
  assert.is(ids.data[0], 2); // [CLS]
});

test('a Node Buffer input (pooled, slice is a view) decodes like a Uint8Array', () => {
  const url = new URL('bert-tiny/model.safetensors', FIX);
  const fromBuffer = parseSafetensorsOrThrow(readFileSync(url), 'model.safetensors');
  const fromCopy = parseSafetensorsOrThrow(fixture('bert-tiny/model.safetensors'), 'model.safetensors');
  fromBuffer.tensors.forEach((t, i) => assert.equal(Array.from(t.data), Array.from(fromCopy.tensors[i]!.data), t.name));
  const small = Buffer.concat([
    Buffer.alloc(3, 7),
    Buffer.from(serializeSafetensors([{ name: 'x', dtype: 'f32', shape: [2], data: Float32Array.from([1.5, -2]) }])),
  ]).subarray(3);
  assert.equal(Array.from(parseSafetensorsOrThrow(small, 'pooled').tensors[0]!.data), [1.5, -2]);
});

test('round trip f32 / f64 / i32, odd names, scalars and empty tensors', () => {
  const tensors: RawTensor[] = [
    { name: 'b.weight', dtype: 'f32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-30, Infinity, -0]) },
    { name: 'a', dtype: 'f64', shape: [3], data: Float64Array.from([Math.PI, -1e300, 5e-324]) },
    { name: '0', dtype: 'i32', shape: [2], data: Int32Array.from([-2147483648, 2147483647]) },
    { name: 'scalar', dtype: 'f32', shape: [], data: Float32Array.from([7]) },
    { name: 'empty', dtype: 'f32', shape: [0, 4], data: new Float32Array(0) },
    { name: 'ünï "quoted"', dtype: 'i32', shape: [1], data: Int32Array.from([9]) },
  ];
  const bytes = serializeSafetensors(tensors, { format: 'pt' });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.is(headerLen % 8, 0);
  const text = Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8');
  assert.ok(text.startsWith('{"__metadata__":{"format":"pt"},"0":'), text);
  const keys = Object.keys(JSON.parse(text) as object).filter((k) => k !== '__metadata__');
  assert.equal(text.trimEnd().endsWith('}'), true);
  assert.equal(keys, [...keys].sort());
  const back = parseSafetensorsOrThrow(bytes, 'mem', { floatDtype: 'f64' });
  assert.equal(back.metadata, { format: 'pt' });
  for (const t of tensors) {
    const u = back.tensors.find((x) => x.name === t.name)!;
    assert.equal(u.shape, t.shape, t.name);
    assert.equal(Array.from(u.data), Array.from(t.data), t.name);
  }
  // f32 data written as F32 comes back bit-identical in f32 too.
  const f32 = parseSafetensorsOrThrow(bytes, 'mem').tensors.find((x) => x.name === 'b.weight')!;
  assert.ok(Object.is(f32.data[5], -0));
});

test('serializer refuses duplicates and mismatched data', () => {
  const t: RawTensor = { name: 'x', dtype: 'f32', shape: [2], data: new Float32Array(2) };
  assert.throws(() => serializeSafetensors([t, t]), /duplicate/);
  assert.throws(() => serializeSafetensors([{ ...t, shape: [3] }]), /needs 3 elements/);
  assert.throws(() => serializeSafetensors([{ ...t, dtype: 'f64' }]), /dtype f64/);
});

test('F16 and BF16 decode exactly', () => {
  const f16 = Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x8000, 0x3555, 0x7e00]);
  const bf16 = Uint16Array.from([0x3f80, 0x4049, 0xff80, 0x0001]);
  const data = new Uint8Array([...new Uint8Array(f16.buffer), ...new Uint8Array(bf16.buffer)]);
  const bytes = build(
    {
      h: { dtype: 'F16', shape: [8], data_offsets: [0, 16] },
      b: { dtype: 'BF16', shape: [2, 2], data_offsets: [16, 24] },
    },
    data,
  );
  const f = parseSafetensorsOrThrow(bytes, 'half.safetensors', { floatDtype: 'f64' });
  const h = Array.from(f.tensors.find((t) => t.name === 'h')!.data);
  assert.equal(h.slice(0, 7), [1, -2, 65504, 2 ** -24, Infinity, -0, (1 + 0x155 / 1024) / 4]);
  assert.ok(Object.is(h[5], -0));
  assert.ok(Number.isNaN(h[7]));
  const b = Array.from(f.tensors.find((t) => t.name === 'b')!.data);
  assert.equal(b, [1, 3.140625, -Infinity, 2 ** -133]);
});

test('I64 becomes i32, with a range check naming the tensor', () => {
  const ok = new BigInt64Array([0n, -5n, 2147483647n]);
  const bytes = build({ ids: { dtype: 'I64', shape: [3], data_offsets: [0, 24] } }, new Uint8Array(ok.buffer));
  const t = parseSafetensorsOrThrow(bytes, 'ids.safetensors').tensors[0]!;
  assert.is(t.dtype, 'i32');
  assert.equal(Array.from(t.data), [0, -5, 2147483647]);
  const big = new BigInt64Array([1n, 2147483648n]);
  const msg = errorOf(
    parseSafetensors(
      build({ pos: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(big.buffer)),
      'big.safetensors',
    ),
  );
  assert.match(msg, /big\.safetensors/);
  assert.match(msg, /"pos"/);
  assert.match(msg, /element 1 = 2147483648/);
});

test('unsupported dtype: clear error, skippable with select', () => {
  const bytes = build(
    {
      mask: { dtype: 'BOOL', shape: [4], data_offsets: [0, 4] },
      w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
    },
    new Uint8Array(8),
  );
  assert.match(
    errorOf(parseSafetensors(bytes, 'm.safetensors')),
    /m\.safetensors: tensor "mask" \[4\]: dtype BOOL is not supported/,
  );
  const f = parseSafetensorsOrThrow(bytes, 'm.safetensors', { select: (n) => n === 'w' });
  assert.is(f.tensors.length, 1);
});

test('malformed files give errors naming file, tensor, and offsets', () => {
  const F = 'bad.safetensors';
  const cases: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array(5), /too short/],
    [
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 2n ** 63n, true);
        return b;
      })(),
      /exceeds the 100000000-byte limit/,
    ],
    [
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 9n, true);
        return b;
      })(),
      /header length 9 exceeds the 8 bytes/,
    ],
    [build(null, undefined, '{"a": '), /not valid UTF-8 JSON/],
    [build([1, 2]), /must be a JSON object/],
    [build({ w: 5 }), /tensor "w": header entry must be an object/],
    [
      build({ w: { dtype: 'Q8', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /tensor "w": unknown dtype "Q8"/,
    ],
    [
      build({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /shape must be an array of non-negative integers/,
    ],
    [build({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, new Uint8Array(4)), /non-negative integers/],
    [build({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, new Uint8Array(4)), /data_offsets must be/],
    [
      build({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(4)),
      /tensor "w": data_offsets \[4, 8\] outside the data section of 4 bytes/,
    ],
    [build({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, new Uint8Array(4)), /outside the data section/],
    [
      build({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /shape \[2\] × F32 .*needs more bytes|is 8 bytes but/,
    ],
    [
      build({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /shape \[1\] × F32 is 4 bytes but data_offsets \[0, 8\] span 8/,
    ],
    [build({ w: { dtype: 'F32', shape: [1e15, 1e15], data_offsets: [0, 4] } }, new Uint8Array(4)), /needs more bytes/],
    [
      build(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        new Uint8Array(12),
      ),
      /tensor "b" data_offsets \[4, 12\] overlap tensor "a" \[0, 8\]/,
    ],
    [build({ __metadata__: { n: 1 } }), /__metadata__ must be an object of strings/],
    [
      (() => {
        const b = build({});
        b[8] = 0xff;
        return b;
      })(),
      /not valid UTF-8/,
    ],
  ];
  for (const [bytes, re] of cases) {
    const msg = errorOf(parseSafetensors(bytes, F));
    assert.ok(msg.startsWith(`${F}: `), msg);
    assert.match(msg, re);
  }
});

test('header only: offsets relative to the data section', () => {
  const h = readSafetensorsHeader(
    build({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
    'x',
  );
  assert.ok(E.isRight(h));
  if (E.isRight(h)) assert.equal(h.right.entries[0], { name: 'w', dtype: 'F32', shape: [1], begin: 0, end: 4 });
  // A trailing truncation (data section shorter than the offsets) is caught.
  const full = fixture('bert-tiny/model.safetensors');
  assert.match(
    errorOf(parseSafetensors(full.subarray(0, full.length - 10), 'cut.safetensors')),
    /outside the data section/,
  );
});

test.run();
