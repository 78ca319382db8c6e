/**
 * One writer per run folder, and what each attempt ran with, kept beside the runs in `<runs>/.sweep/<run-id>/`
 * (not in the run folder, whose files must be byte-identical wherever the run ran):
 * - `owner`: the BullMQ token of the job attempt that owns the run. A worker writes it (atomically)
 *   when it takes the job, before it reads or writes anything in the run folder. Its training checks it
 *   before every write (TrainOptions.fence): once another attempt has taken the run, the old one stops
 *   with nothing written. This covers what BullMQ's lock alone does not: a worker whose lock lapsed
 *   (event loop or whole process paused past the lock duration, a lost connection) keeps computing
 *   until it notices, while the job's new owner has already resumed the run from its last checkpoint.
 *   The old worker notices at its next write at the latest, or sooner through `lockRenewalFailed`.
 *   A checkpoint write takes a while (its files are fsynced): the fence is asked again when its folder
 *   is complete, just before the renames that swap it in, and each write has a temporary folder of its
 *   own (training/atomic-dir.ts), so a worker paused in the middle of one neither removes nor tears the
 *   new owner's checkpoint, and stops when it goes on (a write that fails because the new owner cleared
 *   its temporary folder is reported as the takeover). Why this is enough: the new owner writes `owner`
 *   and then loads the model and data (hundreds of milliseconds at least) before it touches the run
 *   folder, while the old writer's check and the renames or append after it are microseconds apart; and
 *   a checkpoint, being a deterministic function of the step, holds the same bytes whoever writes it. It
 *   is not a lease proof against a writer frozen exactly between its check and its renames (that needs
 *   storage with compare-and-set, which a plain shared file system is not).
 * - `attempts.jsonl`: one line per attempt with the execution-only settings (worker, backend note,
 *   threads), which change how fast the run goes but not its numbers, so they stay out of config.json.
 */
import { hostname } from 'node:os';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../training/atomic-file.ts';

const sweepDir = (runs: string, id: string): string => join(runs, '.sweep', id);
const ownerFile = (runs: string, id: string): string => join(sweepDir(runs, id), 'owner');

/** Thrown by the fence: the run belongs to another attempt now (or this worker lost the job's lock). */
export class RunTakenOver extends Error {
  override readonly name = 'RunTakenOver';
}

/** Makes `token` the run's owner (the attempt that took the job last wins). */
export function claimRun(runs: string, id: string, token: string): void {
  mkdirSync(sweepDir(runs, id), { recursive: true });
  writeFileAtomic(ownerFile(runs, id), `${JSON.stringify({ token, worker: `${hostname()}:${process.pid}` })}\n`);
}

/** The owning attempt's token, or undefined when none has claimed the run (a local sweep). */
export function runOwner(runs: string, id: string): string | undefined {
  const f = ownerFile(runs, id);
  if (!existsSync(f)) return undefined;
  return (JSON.parse(readFileSync(f, 'utf8')) as { token: string }).token;
}

/** A fence for `train`: throws RunTakenOver once `lost()` says so or another token owns the run. */
export function ownerFence(runs: string, id: string, token: string, lost: () => boolean): () => void {
  return () => {
    if (lost()) throw new RunTakenOver(`lost the job's lock`);
    const owner = runOwner(runs, id);
    if (owner !== token) throw new RunTakenOver(`another worker's attempt owns the run now`);
  };
}

export interface AttemptRecord {
  readonly attempt: number;
  readonly backend: string;
  /** The wasm backend's threads (0 = one per core); other backends ignore it. */
  readonly threads: number;
  readonly resumedFrom: number | null;
}

/** Appends one line to `<runs>/.sweep/<id>/attempts.jsonl`. */
export function logAttempt(runs: string, id: string, a: AttemptRecord): void {
  mkdirSync(sweepDir(runs, id), { recursive: true });
  const line = { ...a, worker: `${hostname()}:${process.pid}`, at: new Date().toISOString() };
  appendFileSync(join(sweepDir(runs, id), 'attempts.jsonl'), `${JSON.stringify(line)}\n`);
}
