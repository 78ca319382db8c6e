/**
 * Writes a folder of files so that readers only ever see a complete old or a complete new folder:
 *
 *   1. write every file into `<dir>.tmp/` (each opened, written, fsynced, closed), fsync the folder;
 *   2. rename `<dir>` → `<dir>.old` (if there is one), rename `<dir>.tmp` → `<dir>`, fsync the parent;
 *   3. remove `<dir>.old`.
 *
 * A failure in step 1 removes `<dir>.tmp` and leaves `<dir>` as it was. A crash between the two renames
 * of step 2 leaves only `<dir>.old`; `resolveDir` (used by loaders) falls back to it and the next write
 * puts it back first. POSIX cannot rename over a non-empty folder, hence the `.old` step.
 */
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

export const tmpDirOf = (dir: string): string => `${dir}.tmp`;
export const oldDirOf = (dir: string): string => `${dir}.old`;

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
  await rm(tmp, { recursive: true, force: true });
  try {
    await mkdir(tmp);
    for (const [name, bytes] of files) await writer.writeFile(join(tmp, name), bytes);
    await fsyncDir(tmp);
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
