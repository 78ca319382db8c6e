/**
 * The worker-thread side of spawn-run.ts: trains one run (run-one.ts) and posts its progress lines and
 * outcome to the parent. The stop request is a shared flag read after every step, so a thread busy in a
 * synchronous step still sees it without an event-loop turn.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UsageError } from '../training/usage-error.ts';
import { runOne } from './run-one.ts';
import { LOST, STOP, type ThreadMessage, type ThreadInput } from './spawn-run.ts';

export async function threadMain(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('sweeps/run-thread.ts must run in a worker thread');
  const input = workerData as ThreadInput;
  const stop = new Int32Array(input.stop);
  const post = (m: ThreadMessage) => port.postMessage(m);
  try {
    const { owner } = input;
    const outcome = await runOne(input.runs, input.run, input.exec, {
      shouldStop: () => Atomics.load(stop, 0) === STOP,
      log: (line) => post({ type: 'line', line }),
      ...(owner ? { owner: { ...owner, lost: () => Atomics.load(stop, 0) === LOST } } : {}),
    });
    post({ type: 'outcome', outcome });
  } catch (e) {
    post({
      type: 'error',
      usage: e instanceof UsageError,
      message: e instanceof Error ? e.message : String(e),
      stack: e instanceof Error ? (e.stack ?? e.message) : String(e),
    });
  }
}
