/**
 * Runs one sweep run in a worker thread of this process. A thread (not a child process) so that the
 * main thread stays free for the queue's lock renewals and signals while a step computes, and so that a
 * `kill -9` of the worker takes the training with it: no orphan keeps writing a run folder that another
 * worker has resumed.
 */
import { Worker } from 'node:worker_threads';
import { UsageError } from '../training/usage-error.ts';
import type { SweepRun } from './grid.ts';
import type { ExecOptions, RunOutcome } from './run-one.ts';

export interface ThreadInput {
  readonly runs: string;
  readonly run: SweepRun;
  readonly exec: ExecOptions;
  /** Int32Array(1) over it: 1 = checkpoint after this step and stop; 2 = the job is lost, write nothing more. */
  readonly stop: SharedArrayBuffer;
  /** A queued attempt's job token and attempt number (run-owner.ts). */
  readonly owner?: { readonly token: string; readonly attempt: number };
}

export const STOP = 1,
  LOST = 2;

export type ThreadMessage =
  | { readonly type: 'line'; readonly line: string }
  | { readonly type: 'outcome'; readonly outcome: RunOutcome }
  | { readonly type: 'error'; readonly usage: boolean; readonly message: string; readonly stack: string };

/** A run that failed in its thread; `usage` = the user's mistake (not worth retrying). */
export class RunFailure extends Error {
  override readonly name = 'RunFailure';
  constructor(
    message: string,
    readonly usage: boolean,
    readonly detail: string,
  ) {
    super(message);
  }
}

export interface RunningRun {
  readonly done: Promise<RunOutcome>;
  /** Asks the run to checkpoint after its current step and stop (outcome `stopped`). */
  stop(): void;
  /** The job was lost: the run stops before its next write, writing nothing (outcome `taken-over`). */
  abandon(): void;
}

// From sources (`.ts`, through the TS loader) the thread registers the loader itself; the bundle
// (dist/cli.js) ships the thread as dist/sweep-thread.js beside it.
const fromSources = import.meta.url.endsWith('.ts');
const threadEntry = new URL(fromSources ? './run-thread.ts' : './sweep-thread.js', import.meta.url).href;
const loader = fromSources ? new URL('../scripts/ts-loader.mjs', import.meta.url).href : null;
const BOOT = `
const { workerData } = require('node:worker_threads');
if (workerData.loader) require('node:module').register(workerData.loader);
import(workerData.entry).then((m) => m.threadMain());
`;

export function spawnRun(
  runs: string,
  run: SweepRun,
  exec: ExecOptions,
  onLine: (line: string) => void,
  owner?: ThreadInput['owner'],
): RunningRun {
  const stop = new SharedArrayBuffer(4);
  const input: ThreadInput & { entry: string; loader: string | null } = {
    runs,
    run,
    exec,
    stop,
    ...(owner ? { owner } : {}),
    entry: threadEntry,
    loader,
  };
  const worker = new Worker(BOOT, { eval: true, workerData: input });
  const done = new Promise<RunOutcome>((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      f();
      void worker.terminate(); // the backend's own threads and timers must not keep it alive
    };
    worker.on('message', (m: ThreadMessage) => {
      if (m.type === 'line') onLine(m.line);
      else if (m.type === 'outcome') settle(() => resolve(m.outcome));
      else settle(() => reject(new RunFailure(m.message, m.usage, m.stack)));
    });
    worker.on('error', (e) => settle(() => reject(new RunFailure(e.message, e instanceof UsageError, e.stack ?? ''))));
    worker.on('exit', (code) =>
      settle(() => reject(new RunFailure(`the run's thread exited (code ${code}) before it finished`, false, ''))),
    );
  });
  const flag = new Int32Array(stop);
  return {
    done,
    stop: () => void Atomics.compareExchange(flag, 0, 0, STOP),
    abandon: () => Atomics.store(flag, 0, LOST),
  };
}
