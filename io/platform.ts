/**
 * Node's file access (the disk). Bundling for the browser swaps this module for `platform.browser.ts`
 * (package.json "browser" field); both export the same names.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileSource } from './files.ts';

export const platformFiles: FileSource = {
  readText: (path) => readFile(path, 'utf8'),
  readBytes: async (path) => new Uint8Array(await readFile(path)),
  isFile: (path) =>
    stat(path).then(
      (s) => s.isFile(),
      () => false,
    ),
};

/** Joins path segments (Node's `path.join`). */
export const joinPath: (...parts: string[]) => string = join;

/** A file: URL as a path. */
export const urlToPath = (url: URL): string => fileURLToPath(url);
