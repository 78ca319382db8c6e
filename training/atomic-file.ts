/**
 * Every file the CLI writes (config.json, results.json, curve.svg, the metrics log when it is cut back on
 * resume, predictions, exported adapters) goes through `writeFileAtomic`: the bytes go to a temporary file
 * in the same folder (so the rename never crosses a file system), which is written completely, fsynced,
 * closed and renamed over the target, then the folder is fsynced. Readers see the old file or the new one,
 * never a part; a failed write (ENOSPC, EIO, …) removes the temporary file and leaves the old file as it
 * was, and the error names the target and what to do (fs-error.ts).
 *
 * Why not npm `write-file-atomic` (npm's own): version 6.0.0 writes with a single `fs.write` call and
 * ignores a short count, and on a full disk Linux returns a short count instead of ENOSPC. On a 64 KiB
 * tmpfs it replaced a file by the first 60 KiB of a 100 KB write and reported success. Here the whole
 * buffer is written in a loop, so the next write's ENOSPC is seen.
 *
 * `ensureDir` creates a folder and its parents one level at a time, because Node's recursive mkdir
 * reports ENOENT (not EROFS or EACCES) when a missing parent cannot be created.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fsError, isErrnoError } from './fs-error.ts';
import { UsageError } from './usage-error.ts';

export interface AtomicWriteOptions {
  /** Injectable `fs.writeSync` (failure tests where no small file system can be mounted). */
  readonly writeSync?: (fd: number, bytes: Uint8Array, offset: number, length: number) => number;
}

/** The temporary file beside `path`: hidden, named after it, unique per process and call. */
export const tempFileFor = (path: string): string =>
  join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Some platforms cannot open or fsync a folder; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Creates `dir` and any missing parents (each level separately, so errors are the real ones). */
export function ensureDir(dir: string): void {
  const missing: string[] = [];
  for (let p = resolve(dir); ; p = dirname(p)) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      if (!(isErrnoError(e) && e.code === 'ENOENT')) throw fsError(e, p);
      missing.push(p);
      if (dirname(p) === p) break;
      continue;
    }
    if (!isDir) throw new UsageError(`cannot create the folder ${dir}: ${p} is a file, not a folder; check the path`);
    break;
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (e) {
      if (!(isErrnoError(e) && e.code === 'EEXIST')) throw fsError(e, p, 'create the folder');
    }
  }
}

/** Atomically replaces (or creates) the file `path` with `data` (see the module comment). */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const write = opts.writeSync ?? writeSync;
  const tmp = tempFileFor(path);
  let fd: number | undefined;
  try {
    let mode = 0o644;
    try {
      mode = statSync(path).mode & 0o777; // keep the permissions of the file it replaces
    } catch {
      // a new file
    }
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    for (let at = 0; at < bytes.length;) at += write(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the original error is the one to report
      }
    }
    rmSync(tmp, { force: true });
    throw fsError(e, path, 'write');
  }
  fsyncDir(dirname(path));
}
