/**
 * Pretraining's cached data (vocab.txt and the packed row files) and its end-of-session files (curve.svg,
 * run.json) are never left partly written: prepare reuses any cached file it finds, so a failure mid-write
 * (an injected ENOSPC, as training/atomic-file.test.ts does) must leave no file under the final name and
 * no temporary file, and the next prepare rebuilds exactly what an uninterrupted one makes; an existing
 * run.json survives a failed rewrite whole.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync as writeSyncReal,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prepare, type PrepareOptions } from '../../pretrain/prepare.ts';
import { PRETRAIN_OUTPUT_FILES, writeRunOutputs } from '../../pretrain/run-outputs.ts';
import type { AtomicWriteOptions } from '../../training/atomic-file.ts';
import type { MetricRecord } from '../../training/log.ts';
import { UsageError } from '../../training/usage-error.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pg-pretrain-atomic-'));
const CORPUS = join(tmp, 'corpus.txt');

const enospc = () =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });

/**
 * Writes that fail with ENOSPC in the `failAt`-th file written (1-based), after a first chunk of it has
 * reached the disk: the moment a direct write would leave a part of the file under its final name.
 */
function failingIn(failAt: number): AtomicWriteOptions {
  let file = 0;
  return {
    writeSync: (fd, bytes, offset, length) => {
      if (offset === 0) file++;
      if (file === failAt && offset > 0) throw enospc();
      return writeSyncReal(fd, bytes, offset, Math.min(length, file === failAt ? 64 : length));
    },
  };
}

const options = (out: string, writeOptions?: AtomicWriteOptions): PrepareOptions => ({
  out,
  files: [CORPUS],
  vocabSize: 120,
  seqLen: 16,
  seed: 3,
  maxTrainRows: 40,
  heldOutRows: 4,
  log: () => {},
  ...(writeOptions ? { writeOptions } : {}),
});

const files = (dir: string) => readdirSync(dir).sort();
const bytesOf = (dir: string) => Object.fromEntries(files(dir).map((f) => [f, readFileSync(join(dir, f))]));

test.before(() => {
  const sentences = [
    'The cat sat on the mat while the dog slept by the warm fire.',
    'A quick brown fox jumps over the lazy dog near the river bank.',
    'Rain fell softly on the roofs of the quiet little town all night.',
    'Children played in the park and their parents talked on the benches.',
  ];
  // one passage per document; one passage in about 200 is held out, so 800 give a few
  const docs = Array.from({ length: 800 }, (_, i) => sentences[i % sentences.length]);
  writeFileSync(CORPUS, `${docs.join('\n\n')}\n`);
});

test('a failed write of any cached file leaves no part of it; the next prepare makes what an uninterrupted one does', () => {
  const whole = join(tmp, 'whole');
  const clean = prepare(options(mkdirOf(whole)));
  assert.ok(E.isRight(clean), E.isLeft(clean) ? clean.left : '');
  const expected = bytesOf(whole);
  assert.equal(Object.keys(expected).length, 3, 'vocab.txt and the two row files');
  assert.ok(
    Object.values(expected).every((b) => b.length > 64),
    'every file is written in more than one chunk',
  );

  for (const failAt of [1, 2, 3]) {
    const out = mkdirOf(join(tmp, `fail-${failAt}`));
    assert.throws(
      () => prepare(options(out, failingIn(failAt))),
      (e: unknown) => e instanceof UsageError && /ENOSPC/.test(e.message) && e.message.includes(out),
      `file ${failAt}`,
    );
    // the files before the failed one are complete; the failed one and those after it are absent
    const left = bytesOf(out);
    assert.is(Object.keys(left).length, failAt - 1, `file ${failAt}: ${Object.keys(left).join(', ')}`);
    for (const [f, b] of Object.entries(left)) assert.ok(b.equals(expected[f]!), `file ${failAt}: ${f} is whole`);
    const again = prepare(options(out));
    assert.ok(E.isRight(again), E.isLeft(again) ? again.left : '');
    assert.equal(files(out), Object.keys(expected));
    for (const [f, b] of Object.entries(bytesOf(out))) assert.ok(b.equals(expected[f]!), `file ${failAt}: ${f}`);
  }
});

test("run.json and curve.svg: a failed rewrite leaves the last session's file whole and no temporary file", () => {
  const out = mkdirOf(join(tmp, 'run'));
  const metrics: MetricRecord[] = [
    { step: 0, split: 'dev', time: 0, loss: 6.2, acc: 0.01 },
    { step: 10, split: 'dev', time: 5, loss: 5.1, acc: 0.08 },
  ];
  writeRunOutputs(out, metrics, { step: 10, note: 'session 1' });
  const before = bytesOf(out);
  assert.equal(Object.keys(before), [PRETRAIN_OUTPUT_FILES.curve, PRETRAIN_OUTPUT_FILES.summary].sort());
  const longer = { step: 20, note: 'session 2', padding: 'x'.repeat(4000) };
  const more = [...metrics, { step: 20, split: 'dev', time: 9, loss: 4.7, acc: 0.12 }];
  // the summary is the second file written: its first chunk lands, then the disk is full
  assert.throws(() => writeRunOutputs(out, more, longer, failingIn(2)), /ENOSPC/);
  const after = bytesOf(out);
  assert.equal(Object.keys(after), Object.keys(before), 'no temporary file is left');
  assert.ok(after[PRETRAIN_OUTPUT_FILES.summary]!.equals(before[PRETRAIN_OUTPUT_FILES.summary]!), 'run.json as it was');
  writeRunOutputs(out, more, longer);
  assert.equal(JSON.parse(readFileSync(join(out, PRETRAIN_OUTPUT_FILES.summary), 'utf8')), longer);
});

function mkdirOf(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
