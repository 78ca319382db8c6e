/**
 * The experiment scripts' own files (grid.json, a run's failed.json, results-*.{json,md}) go to a
 * temporary file renamed over the target: the target is a new file (a new inode, so a hard link to the
 * old one keeps the old bytes), and a write that fails after its first chunk reached the disk (an
 * injected ENOSPC, as in training/atomic-file.test.ts) leaves the old file whole and no temporary file.
 */
import { linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AtomicWriteOptions } from '../training/atomic-file.ts';
import { UsageError } from '../training/usage-error.ts';
import { FAILED_MARKER, GRID_FILE, markRunFailed, writeGridFile, writeResultFiles } from './output-files.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pg-exp-files-'));

/** ENOSPC in the `failAt`-th file written (1-based), once its first 32 bytes are on disk. */
function failingIn(failAt: number): AtomicWriteOptions {
  let file = 0;
  return {
    writeSync: (fd, bytes, offset, length) => {
      if (offset === 0) file++;
      if (file !== failAt) return writeSync(fd, bytes, offset, length);
      if (offset > 0)
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
      return writeSync(fd, bytes, offset, Math.min(length, 32));
    },
  };
}

const big = { padding: 'x'.repeat(2000) };

/** Runs `write` twice over `file`'s old bytes: failing (old bytes kept, nothing else left), then for real. */
function replacesWhole(dir: string, file: string, write: (opts: AtomicWriteOptions) => void, failAt = 1): void {
  writeFileSync(file, 'the old bytes\n');
  const before = readdirSync(dir).sort();
  assert.throws(
    () => write(failingIn(failAt)),
    (e: unknown) => e instanceof UsageError && /ENOSPC/.test(e.message),
  );
  assert.is(readFileSync(file, 'utf8'), 'the old bytes\n', `${file}: the old file is whole`);
  assert.equal(readdirSync(dir).sort(), before, 'no temporary file is left');
  const oldLink = join(tmp, `old-${readdirSync(tmp).length}`);
  linkSync(file, oldLink);
  write({});
  assert.is(
    readFileSync(oldLink, 'utf8'),
    'the old bytes\n',
    `${file} was replaced by a rename, not rewritten in place`,
  );
  assert.ok(readFileSync(file, 'utf8').includes(big.padding), `${file}: the new bytes`);
}

test('grid.json: replaced whole or not at all', () => {
  const out = join(tmp, 'exp');
  writeGridFile(out, { seeds: [1] }); // creates the folder
  const file = join(out, GRID_FILE);
  replacesWhole(out, file, (opts) => assert.is(writeGridFile(out, { seeds: [1, 2], ...big }, opts), file));
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { seeds: number[] }).seeds, [1, 2]);
});

test("a run's failed.json: written whole or not at all", () => {
  const run = join(tmp, 'runs', 'prompt', 'seed-1');
  markRunFailed(run, 'first');
  replacesWhole(run, join(run, FAILED_MARKER), (opts) =>
    markRunFailed(run, `non-finite gradients ${big.padding}`, opts),
  );
  const fresh = join(tmp, 'runs', 'pool', 'seed-2');
  assert.throws(() => markRunFailed(fresh, 'x'.repeat(100), failingIn(1)), /ENOSPC/);
  assert.equal(readdirSync(fresh), [], 'no marker, torn or whole, when its write failed');
});

test('results-*.json and .md: each replaced whole or not at all', () => {
  const dir = join(tmp, 'results');
  const base = join(dir, 'results-multitask');
  writeGridFile(dir, {}); // the folder
  rmSync(join(dir, GRID_FILE));
  writeResultFiles(base, { runs: [] }, '| a |');
  replacesWhole(dir, `${base}.json`, (opts) => writeResultFiles(base, big, `| b |\n${big.padding}`, opts), 1);
  replacesWhole(dir, `${base}.md`, (opts) => writeResultFiles(base, big, `| c |\n${big.padding}`, opts), 2);
  assert.is(readFileSync(`${base}.md`, 'utf8'), `| c |\n${big.padding}\n`);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
