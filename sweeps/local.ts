/**
 * A sweep on this machine: the grid's unfinished runs, `parallel` at a time, each in its own worker
 * thread (spawn-run.ts). SIGINT / SIGTERM ask every running run to checkpoint after its step; the sweep
 * then stops, and running it again resumes them.
 */
import { mkdirSync } from 'node:fs';
import type { SweepRun } from './grid.ts';
import { describeOutcome, isFinished, runDir, type ExecOptions } from './run-one.ts';
import { RunFailure, spawnRun, type RunningRun } from './spawn-run.ts';

export interface LocalSweepOptions {
  readonly parallel: number;
  readonly exec: ExecOptions;
  readonly say?: (line: string) => void;
}

export interface LocalSweepResult {
  readonly finished: number;
  readonly skipped: number;
  readonly failed: readonly { readonly id: string; readonly message: string; readonly usage: boolean }[];
  /** Stopped by a signal before every run finished. */
  readonly interrupted: boolean;
}

export async function runSweepLocally(
  runs: string,
  all: readonly SweepRun[],
  o: LocalSweepOptions,
): Promise<LocalSweepResult> {
  const say = o.say ?? ((l: string) => console.log(l));
  mkdirSync(runs, { recursive: true });
  const todo = all.filter((r) => !isFinished(runDir(runs, r.id)));
  say(
    `sweep: ${all.length} runs, ${all.length - todo.length} already finished, ${todo.length} to run (${o.parallel} at a time)`,
  );
  const running = new Set<RunningRun>();
  let interrupted = false;
  const onSignal = () => {
    if (!interrupted) say('sweep: stopping: each running run checkpoints after its current step');
    interrupted = true;
    for (const r of running) r.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let next = 0,
    finished = 0;
  const failed: { id: string; message: string; usage: boolean }[] = [];
  const slot = async (): Promise<void> => {
    while (!interrupted && next < todo.length) {
      const run = todo[next++]!;
      const t0 = performance.now();
      const handle = spawnRun(runs, run, o.exec, (line) => say(`[${run.id}] ${line}`));
      running.add(handle);
      try {
        const outcome = await handle.done;
        if (outcome.kind === 'finished') {
          finished++;
          say(`completed ${run.id}: ${describeOutcome(outcome)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
        } else if (outcome.kind === 'stopped') say(`stopped ${run.id} at step ${outcome.step} (checkpointed)`);
      } catch (e) {
        const f = e instanceof RunFailure ? e : new RunFailure(String(e), false, '');
        failed.push({ id: run.id, message: f.message, usage: f.usage });
        say(`failed ${run.id}: ${f.message.split('\n')[0]}`);
      } finally {
        running.delete(handle);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, o.parallel) }, slot));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return { finished, skipped: all.length - todo.length, failed, interrupted };
}
