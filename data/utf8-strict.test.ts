/**
 * JSONL and CSV files are decoded as strict UTF-8: an invalid byte sequence is an error naming the file
 * and the line (never U+FFFD replacements that training would then learn from), for FewGLUE, generic
 * JSONL / CSV, and `predict --input`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeUtf8Strict, formatDataError, loadGeneric, loadTask } from './index.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pg-utf8-'));
const enc = (s: string) => new TextEncoder().encode(s);
const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

test('decodeUtf8Strict: valid text (BOM, multi-byte) passes; a bad byte is named by line and offset', () => {
  const ok = decodeUtf8Strict(enc('\uFEFFcafé\nnaïve — 日本\n'), 'f');
  assert.ok(E.isRight(ok) && ok.right.includes('日本'));
  for (const [bad, line] of [
    [cat(enc('a\nb\n'), new Uint8Array([0xff]), enc('c\n')), 3], // not a UTF-8 byte
    [cat(enc('x\n'), new Uint8Array([0xc3])), 2], // truncated sequence at the end
    [cat(new Uint8Array([0xed, 0xa0, 0x80]), enc('\n')), 1], // a UTF-16 surrogate encoded
    [cat(enc('ok\n'), new Uint8Array([0xc0, 0xaf]), enc('\n')), 2], // overlong '/'
  ] as const) {
    const r = decodeUtf8Strict(bad, 'data/train.jsonl');
    assert.ok(E.isLeft(r));
    assert.is(r.left.line, line);
    assert.match(formatDataError(r.left), new RegExp(`^data/train\\.jsonl:${line}: not valid UTF-8`));
  }
});

test('generic JSONL and CSV loaders refuse invalid UTF-8 with file and line', async () => {
  const jsonl = join(tmp, 'g.jsonl');
  writeFileSync(
    jsonl,
    cat(enc('{"text": "good", "label": "a"}\n{"text": "bad '), new Uint8Array([0xfe]), enc('", "label": "b"}\n')),
  );
  const j = await loadGeneric(jsonl, { mapping: { text: 'text', label: 'label' } })();
  assert.ok(E.isLeft(j));
  assert.match(formatDataError(j.left), /g\.jsonl:2: not valid UTF-8/);
  const csv = join(tmp, 'g.csv');
  writeFileSync(csv, cat(enc('text,label\ngood,a\n'), new Uint8Array([0x80]), enc('bad,b\n')));
  const c = await loadGeneric(csv, { mapping: { text: 'text', label: 'label' } })();
  assert.ok(E.isLeft(c));
  assert.match(formatDataError(c.left), /g\.csv:3: not valid UTF-8/);
});

test('a FewGLUE split with a Latin-1 byte is refused, naming the file and line', async () => {
  mkdirSync(join(tmp, 'fg', 'RTE'), { recursive: true });
  const line = (i: number, h: Uint8Array) =>
    cat(enc(`{"idx": ${i}, "premise": "p", "hypothesis": "`), h, enc('", "label": "entailment"}\n'));
  writeFileSync(
    join(tmp, 'fg', 'RTE', 'train.jsonl'),
    cat(line(0, enc('fine')), line(1, new Uint8Array([0x63, 0x61, 0x66, 0xe9]))),
  );
  const r = await loadTask(join(tmp, 'fg'), 'RTE', 'train')();
  assert.ok(E.isLeft(r));
  assert.match(formatDataError(r.left), /RTE\/train\.jsonl:2: not valid UTF-8/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
