/**
 * What a PromptGrad run folder is, decided in one place for every guard and reader.
 *
 * A run folder is one that holds the marker file `.promptgrad-run` (written first, before anything
 * else, when `train` claims a folder), or, for folders written before the marker existed, one that
 * holds only run files and a checkpoint. `train --out` claims a missing or empty folder; it never
 * writes into a non-empty folder that is not a run folder (a model folder, a user's folder), and it
 * refuses a run folder that holds a checkpoint unless resuming. "Holds a checkpoint" is what the resume
 * path reads: `checkpoint/`, or `checkpoint.old/` (the only copy left when a crash fell between the two
 * renames of the atomic folder write, see atomic-dir.ts). A temporary checkpoint folder
 * `checkpoint.tmp-<pid>-<hex>/` (`checkpoint.tmp/` from earlier versions) is an incomplete write and a
 * temporary file `.<run file>.tmp-<pid>-<hex>` an interrupted atomic write: both are debris of the run
 * itself, removed when it starts again (a checkpoint folder of a killed write also by the next write).
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { oldDirOf, tmpDirOf, tmpDirWriter } from './atomic-dir.ts';
import { ensureDir, writeFileAtomic } from './atomic-file.ts';
import { fsError } from './fs-error.ts';
import { UsageError } from './usage-error.ts';

export const RUN_MARKER = '.promptgrad-run';

export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  curve: 'curve.svg',
  results: 'results.json',
  checkpoint: 'checkpoint',
} as const;

/** The checkpoint's state file: the one file whose presence makes a checkpoint folder readable. */
const CHECKPOINT_STATE = 'state.json';

const CHECKPOINT_DIRS = [RUN_FILES.checkpoint, oldDirOf(RUN_FILES.checkpoint)] as const;

/** Every name a run folder may hold, besides temporary files and folders (isRunDebris). */
const RUN_NAMES: ReadonlySet<string> = new Set([RUN_MARKER, ...Object.values(RUN_FILES), ...CHECKPOINT_DIRS]);

export type RunFolderKind =
  /** Nothing at that path. */
  | 'missing'
  /** An empty folder. */
  | 'empty'
  /** A PromptGrad run folder (marker, or run files only with a readable checkpoint). */
  | 'run'
  /** A non-empty folder that is not a run folder. */
  | 'foreign'
  /** A file, not a folder. */
  | 'file';

export interface RunFolder {
  readonly path: string;
  readonly kind: RunFolderKind;
  /** What the folder holds (sorted). */
  readonly entries: readonly string[];
  /** The checkpoint folder the resume path reads (`checkpoint` or `checkpoint.old`), if any. */
  readonly checkpoint?: string;
  /** A `checkpoint` or `checkpoint.old` folder, readable or not. */
  readonly hasCheckpointDir: boolean;
}

/** The checkpoint folder a loader reads in `run` (same rule as atomic-dir.ts's resolveDir), if any. */
export function readableCheckpoint(run: string): string | undefined {
  const dir = join(run, RUN_FILES.checkpoint);
  if (existsSync(join(dir, CHECKPOINT_STATE))) return dir;
  if (existsSync(join(oldDirOf(dir), CHECKPOINT_STATE))) return oldDirOf(dir);
  return undefined;
}

/** Looks at `path` without changing anything. */
export function inspectRunFolder(path: string): RunFolder {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT')
      return { path, kind: 'missing', entries: [], hasCheckpointDir: false };
    throw fsError(e, path);
  }
  if (!isDir) return { path, kind: 'file', entries: [], hasCheckpointDir: false };
  let entries: string[];
  try {
    entries = readdirSync(path).sort();
  } catch (e) {
    throw fsError(e, path);
  }
  const checkpoint = readableCheckpoint(path);
  const hasCheckpointDir = CHECKPOINT_DIRS.some((d) => entries.includes(d));
  const base = { path, entries, hasCheckpointDir, ...(checkpoint ? { checkpoint } : {}) };
  // A temporary file of an interrupted atomic write of a run file (even of the marker) is ours.
  const own = entries.filter((e) => !isRunDebris(e));
  if (own.length === 0) return { ...base, kind: 'empty' };
  const marked = own.includes(RUN_MARKER);
  const legacy = checkpoint !== undefined && own.every((e) => RUN_NAMES.has(e));
  return { ...base, kind: marked || legacy ? 'run' : 'foreign' };
}

/** `.config.json.tmp-<pid>-<hex>`: what writeFileAtomic leaves when killed mid-write of a run file. */
function isRunTempFile(name: string): boolean {
  const m = /^\.(.+)\.tmp-\d+-[0-9a-f]+$/.exec(name);
  return m !== null && RUN_NAMES.has(m[1]!);
}

/** A run file's temporary file, or a checkpoint folder being written (never complete, never the only copy). */
const isRunDebris = (name: string): boolean =>
  isRunTempFile(name) || tmpDirWriter(name, RUN_FILES.checkpoint) !== undefined;

const listed = (entries: readonly string[]): string =>
  entries.slice(0, 5).join(', ') + (entries.length > 5 ? `, … (${entries.length} entries)` : '');

/** The refusal for a folder `train` must not write into, or undefined if it may start a new run there. */
export function newRunRefusal(f: RunFolder, option = '--out'): string | undefined {
  switch (f.kind) {
    case 'missing':
    case 'empty':
      return undefined;
    case 'file':
      return `${option} ${f.path} is a file, not a folder; choose a folder for the run`;
    case 'foreign':
      return `${option} ${f.path} is not empty and is not a PromptGrad run folder (it holds ${listed(f.entries)}); choose a new or empty folder`;
    case 'run':
      return f.hasCheckpointDir
        ? `${option} ${f.path} already holds a run (${f.checkpoint ? basename(f.checkpoint) : 'a checkpoint folder'}); pass --resume to continue it or choose another ${option}`
        : undefined;
  }
}

const writeMarker = (path: string): void =>
  writeFileAtomic(join(path, RUN_MARKER), `${JSON.stringify({ format: 'promptgrad.run', version: 1 })}\n`);

/** Throws the refusal of `newRunRefusal` (no side effects): the CLI checks before loading anything. */
export function checkNewRunFolder(path: string, option = '--out'): void {
  const why = newRunRefusal(inspectRunFolder(path), option);
  if (why) throw new UsageError(why);
}

/**
 * Claims `path` for a new run: creates it, writes the marker first, then removes what a previous
 * attempt that never reached its first checkpoint left (metrics, plot, results).
 */
export function claimNewRun(path: string, option = '--out'): void {
  const f = inspectRunFolder(path);
  const why = newRunRefusal(f, option);
  if (why) throw new UsageError(why);
  ensureDir(path);
  writeMarker(path);
  const leftovers = [RUN_FILES.metrics, RUN_FILES.curve, RUN_FILES.results];
  for (const name of [...leftovers, ...f.entries.filter(isRunDebris)]) {
    try {
      rmSync(join(path, name), { recursive: true, force: true });
    } catch (e) {
      throw fsError(e, join(path, name), 'remove');
    }
  }
}

/** A run folder with a readable checkpoint, for `--resume` (`option` names it in errors). */
export function requireResumableRun(path: string, option = '--out'): RunFolder {
  const f = inspectRunFolder(path);
  if (f.kind !== 'run')
    throw new UsageError(
      f.kind === 'missing'
        ? `cannot resume: ${option} ${path} does not exist`
        : `cannot resume: ${option} ${path} is not a PromptGrad run folder${f.entries.length ? ` (it holds ${listed(f.entries)})` : ''}`,
    );
  if (!f.checkpoint)
    throw new UsageError(
      `cannot resume: ${option} ${path} has no checkpoint yet (the run stopped before its first one); start it again without --resume`,
    );
  return f;
}

/**
 * `requireResumableRun`, then marks a folder written before the marker existed and puts a checkpoint
 * left only as `checkpoint.old` back in place.
 */
export function claimResumedRun(path: string, option = '--out'): RunFolder {
  const f = requireResumableRun(path, option);
  if (!f.entries.includes(RUN_MARKER)) writeMarker(path);
  for (const name of f.entries.filter(isRunTempFile)) rmSync(join(path, name), { force: true });
  const dir = join(path, RUN_FILES.checkpoint);
  if (f.checkpoint === oldDirOf(dir) && !f.entries.includes(RUN_FILES.checkpoint)) {
    try {
      renameSync(f.checkpoint, dir); // what the next atomic checkpoint write would do first
    } catch (e) {
      throw fsError(e, f.checkpoint, 'rename');
    }
    return { ...f, checkpoint: dir };
  }
  return f;
}

/** A run folder with a readable checkpoint, for `eval`, `predict` and `export-peft` (`--run`). */
export function requireFinishedRun(path: string, option = '--run'): RunFolder {
  const f = inspectRunFolder(path);
  if (f.kind === 'missing') throw new UsageError(`${option} ${path}: no such folder`);
  if (f.kind !== 'run')
    throw new UsageError(
      `${option} ${path} is not a PromptGrad run folder${f.entries.length ? ` (it holds ${listed(f.entries)})` : ''}; pass a folder written by \`promptgrad train\``,
    );
  if (!f.checkpoint)
    throw new UsageError(`${option} ${path} has no checkpoint yet (the run stopped before its first one)`);
  return f;
}

/**
 * For `train --overwrite`, checked before anything loads: `path` may be replaced only when it is a run
 * folder PromptGrad wrote, an empty folder or nothing; any other folder or file is refused and left alone.
 */
export function checkOverwritable(path: string, option = '--out'): RunFolder {
  const f = inspectRunFolder(path);
  if (f.kind !== 'missing' && f.kind !== 'run' && f.kind !== 'empty')
    throw new UsageError(
      `${option} ${path} is not a PromptGrad run folder${f.entries.length ? ` (it holds ${listed(f.entries)})` : ''}; it is left as it is: choose another folder`,
    );
  return f;
}

/** Removes `path` and what it holds (a test injects a removal cut short). */
export type RemoveTree = (path: string) => void;

const removeTree: RemoveTree = (p) => rmSync(p, { recursive: true, force: true });

/**
 * Removes a run folder PromptGrad wrote so it can start again (scripts that rerun into a fixed folder,
 * `train --overwrite`), refusing with a UsageError any other folder; nothing if it is missing. A removal
 * cut short (Ctrl-C, an I/O error) leaves a run folder the next removal finishes, never a half one a
 * reader takes for whole: each checkpoint folder is first renamed to a temporary checkpoint
 * name (the run's own debris), so `eval --run` sees it whole or not at all, and the marker goes last, so
 * until then the folder is still a run (one of run files without marker or checkpoint would be refused as
 * someone else's by the next `npm run demo` or `train --overwrite`).
 */
export function removeRunFolder(path: string, option = '--out', remove: RemoveTree = removeTree): void {
  const f = checkOverwritable(path, option);
  if (f.kind === 'missing') return;
  const removeOrExplain = (p: string): void => {
    try {
      remove(p);
    } catch (e) {
      throw fsError(e, p, 'remove');
    }
  };
  for (const name of f.entries) {
    if (name === RUN_MARKER) continue;
    const p = join(path, name);
    if (!(CHECKPOINT_DIRS as readonly string[]).includes(name)) {
      removeOrExplain(p);
      continue;
    }
    const aside = tmpDirOf(join(path, RUN_FILES.checkpoint));
    try {
      renameSync(p, aside);
    } catch (e) {
      throw fsError(e, p, 'rename');
    }
    removeOrExplain(aside);
  }
  removeOrExplain(path);
}
