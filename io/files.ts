/**
 * The little file access PromptGrad's loaders need, as an interface: Node reads the disk
 * (`io/platform.ts`), a browser fetches URLs or reads files the user dropped (`io/platform.browser.ts`,
 * chosen by the package.json "browser" field when bundling for the browser). Only reading: writing run
 * folders and checkpoints stays Node-only; a browser builds files in memory (e.g. a zipped PEFT adapter).
 */
export interface FileSource {
  /** The whole file as UTF-8 text. A missing file rejects with an error whose `code` is 'ENOENT'. */
  readText(path: string): Promise<string>;
  /** The whole file's bytes. A missing file rejects with an error whose `code` is 'ENOENT'. */
  readBytes(path: string): Promise<Uint8Array>;
  /** Whether a regular file is at `path` (false for folders and for anything unreadable). */
  isFile(path: string): Promise<boolean>;
}

/** What a missing file rejects with on every platform (Node's fs errors carry the same code). */
export class FileNotFoundError extends Error {
  override readonly name = 'FileNotFoundError';
  readonly code = 'ENOENT';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`ENOENT: no such file, ${detail} '${path}'`);
  }
}

export const isNotFound = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ENOENT';
