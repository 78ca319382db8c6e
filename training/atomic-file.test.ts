/**
 * Atomic file writes on real folders: a replaced file is complete or untouched, a failed write (a full
 * tmpfs where the machine lets the test mount one, else an injected ENOSPC) leaves the old file and no
 * temporary file, short writes are completed, and errors name the path and what to do.
 */
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync as writeSyncReal,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureDir, writeFileAtomic, type AtomicWriteOptions } from './atomic-file.ts';
import { mountTmpfs } from './testing/tmpfs.ts';
import { UsageError } from './usage-error.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pg-atomic-'));

const enospc = () =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });

test('replaces a file completely, keeps its permissions and leaves nothing else behind', () => {
  const f = join(tmp, 'a.json');
  writeFileSync(f, 'old');
  chmodSync(f, 0o600);
  writeFileAtomic(f, 'new contents\n');
  assert.is(readFileSync(f, 'utf8'), 'new contents\n');
  assert.is(statSync(f).mode & 0o777, 0o600);
  writeFileAtomic(join(tmp, 'b.bin'), new Uint8Array([1, 2, 3]));
  assert.equal([...readFileSync(join(tmp, 'b.bin'))], [1, 2, 3]);
  assert.equal(readdirSync(tmp).sort(), ['a.json', 'b.bin']);
});

test('short writes (what Linux returns when a disk fills) are completed, not taken as the whole write', () => {
  const f = join(tmp, 'short.txt');
  const data = 'x'.repeat(10_000);
  writeFileAtomic(f, data, { writeSync: (fd, b, off, len) => writeSyncReal(fd, b, off, Math.min(len, 777)) });
  assert.is(readFileSync(f, 'utf8'), data);
});

function fullDiskCase(dir: string, opts: AtomicWriteOptions): void {
  const f = join(dir, 'preds.jsonl');
  writeFileSync(f, 'the old predictions\n');
  let thrown: unknown;
  try {
    writeFileAtomic(f, new Uint8Array(200_000).fill(65), opts);
  } catch (e) {
    thrown = e;
  }
  assert.instance(thrown, UsageError);
  const msg = (thrown as Error).message;
  assert.match(msg, f);
  assert.match(msg, 'ENOSPC');
  assert.match(msg, 'free some space');
  assert.is(readFileSync(f, 'utf8'), 'the old predictions\n');
  assert.equal(readdirSync(dir), ['preds.jsonl']);
}

test('a full disk (64 KiB tmpfs) leaves the old file and no debris; the error names the file and what to do', () => {
  const fs = mountTmpfs(64);
  if (!fs) {
    console.log('SKIP: cannot mount a tmpfs here; the injected ENOSPC test below still runs');
    return;
  }
  try {
    fullDiskCase(fs.dir, {});
  } finally {
    fs.unmount();
  }
});

test('an injected ENOSPC mid-write: the same guarantees', () => {
  const dir = join(tmp, 'injected');
  ensureDir(dir);
  let calls = 0;
  fullDiskCase(dir, {
    writeSync: (fd, b, off, len) => {
      if (++calls > 1) throw enospc();
      return writeSyncReal(fd, b, off, Math.min(len, 4096));
    },
  });
});

test('ensureDir reports EROFS on a read-only mount (not the ENOENT of recursive mkdir)', () => {
  const ro = mountTmpfs(64, true);
  if (!ro) {
    console.log('SKIP: cannot mount a read-only tmpfs here');
    return;
  }
  try {
    const target = join(ro.dir, 'runs', 'rte');
    assert.throws(
      () => ensureDir(target),
      (e: unknown) => e instanceof UsageError && /EROFS/.test(e.message) && e.message.includes(join(ro.dir, 'runs')),
    );
  } finally {
    ro.unmount();
  }
});

test('ensureDir creates missing parents and refuses a path through a file', () => {
  ensureDir(join(tmp, 'x', 'y', 'z'));
  assert.ok(statSync(join(tmp, 'x', 'y', 'z')).isDirectory());
  writeFileSync(join(tmp, 'file'), '');
  assert.throws(() => ensureDir(join(tmp, 'file', 'sub')), /is a file, not a folder/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
