/**
 * Writes a folder of files so that readers only ever see a complete old or a complete new folder:
 *
 *   1. write every file into a temporary folder `<dir>.tmp-<pid>-<hex>/` of this write alone (each file
 *      opened, written, fsynced, closed), fsync the folder;
 *   2. `beforeCommit()` (a writer that may have lost its right to write stops here, its folder removed);
 *   3. rename `<dir>` → `<dir>.old` (if there is one), rename the temporary folder → `<dir>`, fsync the parent;
 *   4. remove `<dir>.old`.
 *
 * A failure in step 1 or 2 removes the temporary folder and leaves `<dir>` as it was. A crash between
 * the two renames of step 3 leaves only `<dir>.old`; `resolveDir` (used by loaders) falls back to it and
 * the next write puts it back first. POSIX cannot rename over a non-empty folder, hence the `.old` step.
 *
 * Why a temporary folder per write, not one shared `<dir>.tmp/`: two processes may write the same folder
 * at once (a sweep worker paused past its job lock while the job's next owner resumes the run). With a
 * shared name one removed or renamed the other's half-written folder: the other failed with
 * `<dir>.tmp/state.json: ENOENT`, or renamed a folder holding files of both writes into place. A write
 * removes the temporary folders left by processes that no longer run on this machine (a killed write),
 * never one of a running process (it may be paused, not dead).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface DurableWriter {
  /** Creates `path` with `bytes` and makes it durable (fsync) before resolving. */
  writeFile(path: string, bytes: Uint8Array): Promise<void>;
}

export const fsyncWriter: DurableWriter = {
  async writeFile(path, bytes) {
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
};

async function fsyncDir(path: string): Promise<void> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY);
    await fh.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync a folder; the renames are still atomic.
  } finally {
    await fh?.close();
  }
}

const exists = async (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

/** The temporary folder of one write: named after `dir`, unique per process and call. */
export const tmpDirOf = (dir: string): string => `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
export const oldDirOf = (dir: string): string => `${dir}.old`;

/**
 * The process that made `name`, when it is a temporary folder of a write of the folder named `base`
 * (`<base>.tmp-<pid>-<hex>`); 0 for `<base>.tmp`, the one shared name earlier versions used.
 */
export function tmpDirWriter(name: string, base: string): number | undefined {
  if (name === `${base}.tmp`) return 0;
  if (!name.startsWith(`${base}.tmp-`)) return undefined;
  const m = /^(\d+)-[0-9a-f]+$/.exec(name.slice(base.length + 5));
  return m ? Number(m[1]) : undefined;
}

/** Whether process `pid` runs on this machine (EPERM: it runs, as another user). */
function isRunning(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** Removes the temporary folders of `dir`'s writes whose process is gone (killed mid-write). */
async function removeDeadWritersTmp(dir: string): Promise<void> {
  const base = basename(dir);
  for (const name of await readdir(dirname(dir)).catch(() => [] as string[])) {
    const pid = tmpDirWriter(name, base);
    if (pid !== undefined && pid !== process.pid && !isRunning(pid))
      await rm(join(dirname(dir), name), { recursive: true, force: true });
  }
}

export interface DirWriteOptions {
  /**
   * Called once the temporary folder is complete, just before it replaces `dir`; throwing stops the
   * write (the temporary folder is removed, `dir` untouched) and the error is the write's. A sweep
   * worker's check that it still owns the run (TrainOptions.fence).
   */
  readonly beforeCommit?: () => void;
}

/** The folder to read: `dir`, or `dir.old` when a crash interrupted a replace (see the module comment). */
export async function resolveDir(dir: string, marker: string): Promise<string> {
  if (await exists(join(dir, marker))) return dir;
  if (await exists(join(oldDirOf(dir), marker))) return oldDirOf(dir);
  return dir;
}

/** Atomically replaces `dir` with a folder holding exactly `files` (name → bytes). */
export async function writeDirAtomic(
  dir: string,
  files: ReadonlyMap<string, Uint8Array>,
  writer: DurableWriter = fsyncWriter,
  opts: DirWriteOptions = {},
): Promise<void> {
  for (const name of files.keys()) {
    if (name !== basename(name) || name === '.' || name === '..')
      throw new Error(`writeDirAtomic: "${name}" is not a plain file name`);
  }
  const tmp = tmpDirOf(dir),
    old = oldDirOf(dir);
  await mkdir(dirname(dir), { recursive: true });
  // Never move aside a folder this writer did not make (a run folder passed by mistake).
  const foreign = (await readdir(dir).catch(() => [] as string[])).filter((f) => !files.has(f));
  if (foreign.length > 0)
    throw new Error(
      `writeDirAtomic: refusing to replace ${dir}: it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}, which this writer did not create`,
    );
  // A leftover .old with no dir is the only good copy from an interrupted replace: put it back.
  if (!(await exists(dir)) && (await exists(old))) await rename(old, dir);
  await removeDeadWritersTmp(dir);
  try {
    await mkdir(tmp);
    for (const [name, bytes] of files) await writer.writeFile(join(tmp, name), bytes);
    await fsyncDir(tmp);
    opts.beforeCommit?.();
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await rm(old, { recursive: true, force: true });
  const hadDir = await exists(dir);
  if (hadDir) await rename(dir, old);
  try {
    await rename(tmp, dir);
  } catch (e) {
    if (hadDir) await rename(old, dir);
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await fsyncDir(dirname(dir));
  await rm(old, { recursive: true, force: true });
}
