/**
 * The browser's file access, swapped in for `platform.ts` by the package.json "browser" field: paths
 * under `mem://` are files the page mounted (dropped by the user, see memory.ts); everything else is a
 * URL fetched relative to the page.
 */
import type { FileSource } from './files.ts';
import { fetchFiles } from './fetch.ts';
import { MEMORY_SCHEME, memoryFiles } from './memory.ts';
import { joinUrlPath } from './paths.ts';

// The page's address, so relative paths resolve as the page's own links do (the DOM types are not in
// the library's lib setting, hence the narrow view of globalThis).
const page = globalThis as {
  readonly document?: { readonly baseURI: string };
  readonly location?: { readonly href: string };
};
const web = (): FileSource => fetchFiles(page.document?.baseURI ?? page.location?.href);
const pick = (path: string): FileSource => (path.startsWith(MEMORY_SCHEME) ? memoryFiles : web());

export const platformFiles: FileSource = {
  readText: (path) => pick(path).readText(path),
  readBytes: (path) => pick(path).readBytes(path),
  isFile: (path) => pick(path).isFile(path),
};

export const joinPath: (...parts: string[]) => string = joinUrlPath;

/** A URL stays a URL: fetch reads it. */
export const urlToPath = (url: URL): string => url.href;
