/**
 * `npm run demo` leaves nothing half-written: the random encoder folder (`<out>.encoder`: config.json,
 * model.safetensors, vocab.txt) and the demo data folder (make-data.ts) are swapped in whole through
 * training/atomic-dir.ts, and the run folder goes through `train` (writeFileAtomic, whole-line metrics,
 * atomic checkpoint folders), as the CLI's does. A write that fails mid-file with ENOSPC (injected after
 * a first chunk reached the disk, the moment a direct write leaves a part under the final name) must
 * leave no folder or the previous one whole, no temporary folder, and the next run must work.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeDemoData, DEMO_DATA_FOLDER } from '../../examples/demo/make-data.ts';
import { demoWords, writeTinyRandomBert } from '../../examples/demo/encoder.ts';
import { runDemo } from '../../examples/demo/run-demo.ts';
import type { DurableWriter } from '../../training/atomic-dir.ts';
import { RUN_FILES } from '../../training/run-folder.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pg-demo-atomic-'));

const enospc = () =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });

/** A writer whose `failAt`-th file (1-based) gets its first 64 bytes on disk, then the disk is full. */
function failingIn(failAt: number): DurableWriter & { readonly files: () => number } {
  let n = 0;
  return {
    files: () => n,
    writeFile(path, bytes) {
      n++;
      if (n === failAt) {
        writeFileSync(path, bytes.subarray(0, 64));
        return Promise.reject(enospc());
      }
      writeFileSync(path, bytes);
      return Promise.resolve();
    },
  };
}

const bytesOf = (dir: string): Record<string, Buffer> =>
  Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [f, readFileSync(join(dir, f))]),
  );
/** Temporary folders or `.old` copies left beside the folders in `dir`. */
const debris = (dir: string): string[] => readdirSync(dir).filter((f) => /\.tmp|\.old$/.test(f));

/** Awaits `p`, which must fail with an error whose message matches `re`. */
async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  const outcome = await p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );
  assert.match(outcome, re);
}

const sameBytes = (got: Record<string, Buffer>, want: Record<string, Buffer>, what: string) => {
  assert.equal(Object.keys(got), Object.keys(want), what);
  for (const [f, b] of Object.entries(want)) assert.ok(got[f]!.equals(b), `${what}: ${f} differs`);
};

test('make-data: a failed write leaves no data folder or the old one whole; a rerun writes the committed files', async () => {
  const committed = bytesOf(DEMO_DATA_FOLDER);
  assert.equal(Object.keys(committed), ['dev32.jsonl', 'train.jsonl', 'val.jsonl']);
  const parent = join(tmp, 'data-fresh');
  mkdirSync(parent);
  const data = join(parent, 'data');
  for (const failAt of [1, 2, 3]) {
    const writer = failingIn(failAt);
    await rejects(writeDemoData(data, writer), /ENOSPC/);
    assert.is(writer.files(), failAt, 'the failure stopped the write');
    assert.equal(readdirSync(parent), [], `file ${failAt}: no data folder, no temporary folder`);
  }
  await writeDemoData(data);
  sameBytes(bytesOf(data), committed, 'rerun');

  // over an existing folder (different bytes, so "the old one" is visible): it stays as it was
  const old = { 'dev32.jsonl': 'old dev\n', 'train.jsonl': 'old train\n', 'val.jsonl': 'old val\n' };
  for (const [f, text] of Object.entries(old)) writeFileSync(join(data, f), text);
  const before = bytesOf(data);
  for (const failAt of [1, 2, 3]) {
    await rejects(writeDemoData(data, failingIn(failAt)), /ENOSPC/);
    sameBytes(bytesOf(data), before, `file ${failAt}: old folder`);
    assert.equal(debris(parent), [], `file ${failAt}: debris`);
  }
  await writeDemoData(data);
  sameBytes(bytesOf(data), committed, 'rerun over the old folder');
});

test('the random encoder folder: a failed write leaves none or the previous one whole', async () => {
  const folder = join(tmp, 'enc', 'run.encoder');
  await rejects(writeTinyRandomBert(folder, demoWords(), 0, undefined, failingIn(2)), /ENOSPC/);
  assert.equal(readdirSync(join(tmp, 'enc')), [], 'no encoder folder, no temporary folder');
  await writeTinyRandomBert(folder, demoWords(), 0);
  const whole = bytesOf(folder);
  assert.equal(Object.keys(whole), ['config.json', 'model.safetensors', 'vocab.txt']);
  assert.ok(whole['model.safetensors']!.length > 64, 'the weights are written in more than the injected chunk');
  for (const failAt of [1, 2, 3]) {
    // another seed: a completed write would change the weights, a failed one must not
    await rejects(writeTinyRandomBert(folder, demoWords(), 1, undefined, failingIn(failAt)), /ENOSPC/);
    sameBytes(bytesOf(folder), whole, `file ${failAt}`);
    assert.equal(debris(join(tmp, 'enc')), [], `file ${failAt}: debris`);
  }
});

test('runDemo: a disk full while writing the encoder leaves no half model; the next run trains', async () => {
  const parent = join(tmp, 'runs');
  const out = join(parent, 'demo');
  const quiet = { out, randomEncoder: true, steps: 4, stream: null, say: () => {} } as const;
  await rejects(runDemo({ ...quiet, writer: failingIn(2) }), /ENOSPC/);
  assert.not.ok(readdirSync(parent).includes('demo.encoder'), 'no encoder folder');
  assert.equal(debris(parent), []);
  const r = await runDemo(quiet);
  assert.ok(Number.isFinite(r.heldOut), `held-out accuracy ${r.heldOut}`);
  assert.equal(Object.keys(bytesOf(join(parent, 'demo.encoder'))), ['config.json', 'model.safetensors', 'vocab.txt']);
  const run = readdirSync(out);
  for (const f of Object.values(RUN_FILES)) assert.ok(run.includes(f), `run folder holds ${f}: ${run.join(', ')}`);
  assert.equal(debris(parent), []);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
