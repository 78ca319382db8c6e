/**
 * Node's errno errors as one line a user can act on: which path, what went wrong in words, what to do.
 * `ENOSPC: no space left on device, write` names no file (Node's `write` errors carry no path), so every
 * writer wraps its errors with the path it was writing (`fsError`); the CLI's error report uses the same
 * wording for an errno error that escapes elsewhere (`describeFsError`).
 */
import { UsageError } from './usage-error.ts';

/** An error thrown by node:fs: `code` like ENOSPC, usually `syscall` and `path`. */
export interface ErrnoError extends Error {
  readonly code: string;
  readonly syscall?: string;
  readonly path?: string;
}

export function isErrnoError(e: unknown): e is ErrnoError {
  if (!(e instanceof Error)) return false;
  const { code, syscall } = e as { code?: unknown; syscall?: unknown };
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) && typeof syscall === 'string';
}

const FREE_SPACE = 'free some space (or choose a folder on another disk) and run again';
const WRITABLE = 'choose a folder you can write to, or fix its permissions';
const CHECK_PATH = 'check the path';

/** code → [what happened, what to do]. */
const ADVICE: Readonly<Record<string, readonly [string, string]>> = {
  ENOSPC: ['no space left on the device', FREE_SPACE],
  EDQUOT: ['disk quota exceeded', FREE_SPACE],
  EFBIG: ['file too large for this file system', 'choose a folder on another file system'],
  EROFS: ['read-only file system', 'choose a folder on a writable file system'],
  EACCES: ['permission denied', WRITABLE],
  EPERM: ['operation not permitted', WRITABLE],
  ENOENT: ['no such file or folder', CHECK_PATH],
  ENOTDIR: ['a part of the path is a file, not a folder', CHECK_PATH],
  EISDIR: ['it is a folder, not a file', 'give the path of a file'],
  EEXIST: ['it already exists', 'choose another path'],
  ENOTEMPTY: ['the folder is not empty', 'choose another path'],
  ENAMETOOLONG: ['the name is too long', 'choose a shorter path'],
  ELOOP: ['too many symbolic links', CHECK_PATH],
  EMFILE: ['too many open files', 'raise the open-file limit (ulimit -n) and run again'],
  ENFILE: ['too many open files in the system', 'close other programs and run again'],
  EIO: ['input/output error', 'check the disk (dmesg) and run again'],
  EBUSY: ['the file or folder is busy', 'close what uses it and run again'],
  EXDEV: ['it is on another file system', 'keep the files on one file system'],
};

const VERB: Readonly<Record<string, string>> = {
  open: 'open',
  read: 'read',
  write: 'write',
  fsync: 'write',
  close: 'write',
  mkdir: 'create the folder',
  rename: 'rename',
  unlink: 'remove',
  rmdir: 'remove',
  rm: 'remove',
  scandir: 'list the folder',
  stat: 'read',
  lstat: 'read',
  copyfile: 'copy',
  chmod: 'change the mode of',
};

/** `cannot write runs/x/config.json: no space left on the device (ENOSPC); free some space …`. */
export function describeFsError(e: ErrnoError, path: string | undefined = e.path, verb?: string): string {
  const [what, todo] = ADVICE[e.code] ?? [e.message.replace(/^E[A-Z0-9]+: /, ''), 'check the path and run again'];
  const doing = verb ?? VERB[e.syscall ?? ''] ?? e.syscall ?? 'access';
  return `cannot ${doing} ${path ?? '(no path given by the system)'}: ${what} (${e.code}); ${todo}`;
}

/** An errno error from writing or reading `path`, as a UsageError naming it; anything else unchanged. */
export function fsError(e: unknown, path: string, verb?: string): unknown {
  return isErrnoError(e) ? new UsageError(describeFsError(e, path, verb), { cause: e }) : e;
}
