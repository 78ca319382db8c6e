/**
 * The files the experiment scripts write themselves (the run folders inside are training's, written
 * atomically there): grid.ts's grid file, multitask.ts's marker of a failed run and its aggregate
 * results. Each replaces its target through writeFileAtomic, so a crash or a full disk mid-write leaves
 * the previous file whole, never a part: a resumed grid reads grid.json back, a torn marker would still
 * mark a run as failed, and the results files are what EXPERIMENTS.md quotes.
 */
import { join } from 'node:path';
import { ensureDir, writeFileAtomic, type AtomicWriteOptions } from '../training/atomic-file.ts';

/** The grid file in the experiment folder (the JSON `promptgrad sweep --grid` takes). */
export const GRID_FILE = 'grid.json';
/** Marks a run that stopped with an error (its message inside). */
export const FAILED_MARKER = 'failed.json';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Writes `<out>/grid.json` (creating `out`) and returns its path. */
export function writeGridFile(out: string, grid: unknown, opts: AtomicWriteOptions = {}): string {
  ensureDir(out);
  const file = join(out, GRID_FILE);
  writeFileAtomic(file, json(grid), opts);
  return file;
}

/** Writes `<runDir>/failed.json` with the error that stopped the run. */
export function markRunFailed(runDir: string, error: string, opts: AtomicWriteOptions = {}): void {
  ensureDir(runDir);
  writeFileAtomic(join(runDir, FAILED_MARKER), json({ error }), opts);
}

/** Writes `<base>.json` (the data) and then `<base>.md` (the table made from it). */
export function writeResultFiles(base: string, data: unknown, markdown: string, opts: AtomicWriteOptions = {}): void {
  writeFileAtomic(`${base}.json`, json(data), opts);
  writeFileAtomic(`${base}.md`, markdown.endsWith('\n') ? markdown : `${markdown}\n`, opts);
}
