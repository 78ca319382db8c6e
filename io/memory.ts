/**
 * Files held in memory under a `mem://<name>/` folder: what a browser page makes of files the user
 * drops (File objects are Blobs), and what tests use to load a folder without a disk.
 */
import { FileNotFoundError, type FileSource } from './files.ts';
import { joinUrlPath } from './paths.ts';

export type MemoryFile = Blob | Uint8Array | string;

const store = new Map<string, MemoryFile>();

export const MEMORY_SCHEME = 'mem://';

/**
 * Puts `files` (name → contents; a dropped File's own name is what a loader looks for, e.g.
 * `config.json`) under the folder `mem://<name>` and returns that folder's path. Mounting the same name
 * again replaces the folder's files.
 */
export function mountFiles(name: string, files: Iterable<readonly [string, MemoryFile]>): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name))
    throw new Error(`mountFiles: folder name "${name}" must be letters, digits, '.', '_' or '-'`);
  const folder = `${MEMORY_SCHEME}${name}`;
  unmountFiles(folder);
  for (const [file, contents] of files) store.set(joinUrlPath(folder, file), contents);
  return folder;
}

/** Forgets every file under `folder` (a path mountFiles returned). */
export function unmountFiles(folder: string): void {
  const prefix = `${joinUrlPath(folder).replace(/\/+$/, '')}/`;
  for (const k of [...store.keys()]) if (k.startsWith(prefix)) store.delete(k);
}

const lookup = (path: string, verb: string): MemoryFile => {
  const f = store.get(joinUrlPath(path));
  if (f === undefined) throw new FileNotFoundError(path, verb);
  return f;
};

export const memoryFiles: FileSource = {
  async readText(path) {
    const f = lookup(path, 'read');
    if (typeof f === 'string') return f;
    return f instanceof Uint8Array ? new TextDecoder().decode(f) : f.text();
  },
  async readBytes(path) {
    const f = lookup(path, 'read');
    if (typeof f === 'string') return new TextEncoder().encode(f);
    return f instanceof Uint8Array ? f : new Uint8Array(await f.arrayBuffer());
  },
  isFile: (path) => Promise.resolve(store.has(joinUrlPath(path))),
};
