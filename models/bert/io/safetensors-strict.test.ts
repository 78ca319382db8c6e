/**
 * The safetensors header is read as strictly as the reference (Rust) reader: a tensor name given twice
 * (JSON.parse would silently keep the last), bytes after the last tensor, and unreferenced gaps are
 * refused with the file and tensor named; files PromptGrad and PEFT write still load.
 */
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { duplicateTopLevelKey } from './json-duplicate-keys.ts';
import { readSafetensorsHeader, serializeSafetensors } from './safetensors.ts';

/** A safetensors file from a header text and a data section, built by hand (no writer to mask faults). */
function file(header: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const f32 = (name: string, begin: number, end: number) =>
  `"${name}": {"dtype": "F32", "shape": [${(end - begin) / 4}], "data_offsets": [${begin}, ${end}]}`;

const refusal = (bytes: Uint8Array): string => {
  const r = readSafetensorsHeader(bytes, 'x.safetensors');
  if (E.isRight(r)) throw new Error('accepted');
  return r.left.message;
};

test('a tensor name given twice, pointing at different data, is refused with the name', () => {
  const bytes = file(`{${f32('w', 0, 8)}, ${f32('b', 8, 16)}, ${f32('w', 8, 16)}}`, new Uint8Array(16));
  assert.match(refusal(bytes), /x\.safetensors.*"w" more than once/);
});

test('trailing bytes after the last tensor and gaps between tensors are refused', () => {
  assert.match(refusal(file(`{${f32('w', 0, 8)}}`, new Uint8Array(12))), /4 trailing bytes after the data section/);
  assert.match(
    refusal(file(`{${f32('w', 0, 8)}, ${f32('b', 12, 16)}}`, new Uint8Array(16))),
    /4 unreferenced bytes between tensor "w" and "b"/,
  );
  assert.match(refusal(file(`{${f32('w', 4, 12)}}`, new Uint8Array(12))), /4 unreferenced bytes at the start/);
  assert.match(refusal(file(`{}`, new Uint8Array(3))), /3 trailing bytes/);
});

test('well-formed files still load: written by PromptGrad, metadata, an empty file, keys inside values', () => {
  const written = serializeSafetensors(
    [
      { name: 'a', dtype: 'f32', shape: [2], data: new Float32Array([1, 2]) },
      { name: 'b', dtype: 'f64', shape: [1], data: new Float64Array([3]) },
    ],
    { format: 'pt' },
  );
  assert.ok(E.isRight(readSafetensorsHeader(written, 'w')));
  assert.ok(E.isRight(readSafetensorsHeader(file('{}', new Uint8Array(0)), 'e')));
  const meta = `{"__metadata__": {"a": "b", "format": "pt"}, ${f32('a', 0, 4)}}`;
  assert.ok(E.isRight(readSafetensorsHeader(file(meta, new Uint8Array(4)), 'm')));
});

test('duplicateTopLevelKey: only top-level keys count; strings, escapes and nested keys are not keys', () => {
  assert.is(duplicateTopLevelKey('{"a": 1, "b": {"a": 2}, "c": ["a", "a"]}'), undefined);
  assert.is(duplicateTopLevelKey('{"a\\"": "a", "a": 2}'), undefined);
  assert.is(duplicateTopLevelKey('{"x": {"y": 1}, "z": "x", "x" : 3}'), 'x');
  assert.is(duplicateTopLevelKey('{"\\u0061": 1, "a": 2}'), 'a');
});

test.run();
