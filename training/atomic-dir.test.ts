/**
 * Two writers of one folder at once (a sweep worker paused past its job lock while the job's next owner
 * resumes the run): each write has its own temporary folder, so neither removes nor renames the other's
 * half-written files, and the folder is always one write's complete set. With one shared `<dir>.tmp/`
 * the first case failed with `<dir>.tmp/state.json: ENOENT` (seen in sweeps/sweep-lock.test.ts) and the
 * second renamed a folder holding files of both writes into place. Also: `beforeCommit` stops a write
 * with the folder untouched, and a killed writer's temporary folder is removed by the next write while
 * a running (maybe paused) writer's is kept.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fsyncWriter, tmpDirWriter, writeDirAtomic, type DurableWriter } from './atomic-dir.ts';

const root = mkdtempSync(join(tmpdir(), 'pg-atomic-dir-'));
let n = 0;
const fresh = (): string => {
  const d = join(root, String(n++));
  mkdirSync(d);
  return d;
};

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
/** The two files of a checkpoint, both naming the write they belong to. */
const filesOf = (who: string): ReadonlyMap<string, Uint8Array> =>
  new Map([
    ['state.safetensors', enc(`tensors of ${who}`)],
    ['state.json', enc(`state of ${who}`)],
  ]);
const contents = (dir: string): Record<string, string> =>
  Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

/** A writer that stops after its first file until `resume()` is called; `paused` resolves when it stops. */
function pausingWriter(): { writer: DurableWriter; paused: Promise<void>; resume: () => void } {
  let resume = () => {};
  let onPause = () => {};
  const paused = new Promise<void>((r) => (onPause = r));
  const gate = new Promise<void>((r) => (resume = r));
  let files = 0;
  return {
    writer: {
      async writeFile(path, bytes) {
        await fsyncWriter.writeFile(path, bytes);
        if (++files === 1) {
          onPause();
          await gate;
        }
      },
    },
    paused,
    resume,
  };
}

test('a paused write and a whole write in between: both complete, the last one is in place', async () => {
  const parent = fresh(),
    dir = join(parent, 'checkpoint');
  await writeDirAtomic(dir, filesOf('step 6'));
  const a = pausingWriter();
  const pausedWrite = writeDirAtomic(dir, filesOf('A step 8'), a.writer);
  await a.paused;
  await writeDirAtomic(dir, filesOf('B step 8')); // the new owner, while A is paused
  assert.equal(contents(dir), { 'state.json': 'state of B step 8', 'state.safetensors': 'tensors of B step 8' });
  a.resume();
  await pausedWrite; // a shared temporary folder: ENOENT here (B had renamed it into place)
  assert.equal(contents(dir), { 'state.json': 'state of A step 8', 'state.safetensors': 'tensors of A step 8' });
  assert.equal(readdirSync(parent), ['checkpoint'], 'no temporary or .old folder left');
});

test('two writes paused half-way, finished in turn: never a folder with files of both', async () => {
  const parent = fresh(),
    dir = join(parent, 'checkpoint');
  await writeDirAtomic(dir, filesOf('step 6'));
  const a = pausingWriter(),
    b = pausingWriter();
  const writeA = writeDirAtomic(dir, filesOf('A'), a.writer);
  await a.paused;
  const writeB = writeDirAtomic(dir, filesOf('B'), b.writer);
  await b.paused;
  a.resume();
  await writeA; // a shared temporary folder: A put its state.json beside B's tensors and renamed that in
  assert.equal(contents(dir), { 'state.json': 'state of A', 'state.safetensors': 'tensors of A' });
  b.resume();
  await writeB;
  assert.equal(contents(dir), { 'state.json': 'state of B', 'state.safetensors': 'tensors of B' });
  assert.equal(readdirSync(parent), ['checkpoint'], 'no temporary or .old folder left');
});

test('beforeCommit throwing stops the write: the old folder stays, no temporary folder is left', async () => {
  const parent = fresh(),
    dir = join(parent, 'checkpoint');
  await writeDirAtomic(dir, filesOf('step 6'));
  let calls = 0;
  const taken = () => {
    calls++;
    assert.equal(readdirSync(parent).length, 2, 'called with the new folder complete beside the old one');
    throw new Error('another attempt owns the run now');
  };
  try {
    await writeDirAtomic(dir, filesOf('step 8'), fsyncWriter, { beforeCommit: taken });
    assert.unreachable('the write should have been stopped');
  } catch (e) {
    assert.match(String(e), /another attempt owns the run now/);
  }
  assert.is(calls, 1);
  assert.equal(contents(dir), { 'state.json': 'state of step 6', 'state.safetensors': 'tensors of step 6' });
  assert.equal(readdirSync(parent), ['checkpoint']);
});

test("a killed writer's temporary folder goes with the next write; a running writer's stays", async () => {
  const parent = fresh(),
    dir = join(parent, 'checkpoint');
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(gone.stdout);
  assert.ok(deadPid > 0, 'a pid of a process that has exited');
  const debris = [`checkpoint.tmp-${deadPid}-0a1b2c3d`, 'checkpoint.tmp'], // the second: earlier versions' name
    live = `checkpoint.tmp-${process.ppid}-0a1b2c3d`; // the test runner: running
  for (const d of [...debris, live]) {
    mkdirSync(join(parent, d));
    writeFileSync(join(parent, d, 'state.safetensors'), 'half');
  }
  await writeDirAtomic(dir, filesOf('step 2'));
  assert.equal(readdirSync(parent).sort(), ['checkpoint', live]);
  assert.is(tmpDirWriter(live, 'checkpoint'), process.ppid);
  assert.is(tmpDirWriter('checkpoint.tmp', 'checkpoint'), 0);
  assert.is(tmpDirWriter('checkpoint.tmp-12-xyz', 'checkpoint'), undefined);
  assert.is(tmpDirWriter('best.tmp-12-ab', 'checkpoint'), undefined);
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
