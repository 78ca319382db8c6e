/**
 * `promptgrad worker`: a BullMQ worker that trains the sweep's runs into `<runs>/<run-id>/`.
 *
 * - Each job trains in a worker thread (spawn-run.ts); this thread only renews the job locks, so a long
 *   step never loses a lock. A worker that dies (kill -9, machine lost) stops renewing: after the lock
 *   duration BullMQ moves its jobs back to waiting ("stalled") and another worker takes them, resuming
 *   from the run's last checkpoint (run-one.ts). A job may stall `maxStalls` times before it fails.
 * - A user error (bad model folder, bad data: UsageError) fails the job at once (UnrecoverableError);
 *   any other failure is retried up to the job's attempts.
 * - SIGTERM / SIGINT: every running run checkpoints after its current step, its job goes back to
 *   waiting for another worker, and the worker exits (130).
 * - A lost lock (`lockRenewalFailed`, or another attempt's token in the run's owner file): the run
 *   stops before its next write with nothing written, and the job is left to its new owner.
 */
import { mkdirSync } from 'node:fs';
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { checkRedis, redisConnection, type SweepJobData } from './queue.ts';
import { describeOutcome, type ExecOptions, type RunOutcome } from './run-one.ts';
import { RunFailure, spawnRun, type RunningRun } from './spawn-run.ts';

export interface WorkerOptions {
  readonly url: string;
  readonly queueName: string;
  readonly runs: string;
  readonly concurrency: number;
  readonly exec: ExecOptions;
  /** Milliseconds without a lock renewal after which a job counts as stalled (BullMQ's lockDuration). */
  readonly lockDurationMs: number;
  readonly maxStalls: number;
  /** Exit (0) once the queue holds no waiting, delayed or active job. */
  readonly exitWhenDone: boolean;
  readonly say?: (line: string) => void;
}

const firstLine = (s: string) => s.split('\n')[0] ?? '';

/** Runs until a signal (→ 130) or, with exitWhenDone, until the queue is empty (→ 0). */
export async function runWorker(o: WorkerOptions): Promise<number> {
  const say = o.say ?? ((l: string) => console.log(l));
  await checkRedis(o.url);
  mkdirSync(o.runs, { recursive: true });
  const connection = redisConnection(o.url);
  const active = new Map<string, RunningRun>();
  let stopping = false;

  const processor = async (job: Job<SweepJobData, RunOutcome>, token?: string): Promise<RunOutcome> => {
    const { run } = job.data;
    const t0 = performance.now();
    say(`took ${run.id} (attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1})`);
    const handle = spawnRun(o.runs, run, o.exec, (line) => say(`[${run.id}] ${line}`), {
      token: token ?? job.id ?? run.id,
      attempt: job.attemptsMade + 1,
    });
    active.set(run.id, handle);
    if (stopping) handle.stop();
    try {
      const outcome = await handle.done;
      if (outcome.kind === 'stopped') {
        say(`released ${run.id} at step ${outcome.step} (checkpointed; another worker resumes it)`);
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (outcome.kind === 'taken-over') {
        // the job is not ours any more: BullMQ must neither complete nor fail it (WaitingError leaves it be)
        say(`dropped ${run.id}: ${outcome.reason}; stopped with nothing written, its new owner resumes it`);
        throw new WaitingError();
      }
      if (outcome.kind === 'already-finished') say(`completed ${run.id}: already finished (results.json)`);
      else say(`completed ${run.id}: ${describeOutcome(outcome)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      return outcome;
    } catch (e) {
      if (!(e instanceof RunFailure)) throw e;
      throw e.usage ? new UnrecoverableError(e.message) : new Error(e.message);
    } finally {
      active.delete(run.id);
    }
  };

  const worker = new Worker<SweepJobData, RunOutcome>(o.queueName, processor, {
    connection,
    concurrency: o.concurrency,
    lockDuration: o.lockDurationMs,
    stalledInterval: o.lockDurationMs,
    maxStalledCount: o.maxStalls,
  });
  worker.on('failed', (job, err) => {
    if (!job || err instanceof WaitingError) return;
    const left = (job.opts.attempts ?? 1) - job.attemptsMade;
    const retry = !(err instanceof UnrecoverableError) && left > 0;
    say(`failed ${job.id ?? '?'}: ${firstLine(err.message)}${retry ? ` (will retry: ${left} attempts left)` : ''}`);
  });
  worker.on('stalled', (id) => say(`job ${id} stalled (its worker stopped); back to waiting, to be resumed`));
  // A lapsed lock (this process paused, Redis unreachable past the lock duration): the job may already
  // be another worker's, so its run stops before its next write (run-owner.ts makes that one writer).
  worker.on('lockRenewalFailed', (ids) => {
    for (const id of ids) {
      const h = active.get(id);
      if (!h) continue;
      h.abandon();
      say(`lost the lock on ${id}: stopping its run before its next write (another worker may own the job now)`);
    }
  });
  worker.on('error', (e) => {
    if (!e.message.startsWith('could not renew lock')) say(`queue error: ${firstLine(e.message)}`); // said above
  });
  say(
    `worker: queue ${o.queueName} at ${o.url}, runs in ${o.runs}, ${o.concurrency} at a time${o.exec.backend ? `, backend ${o.exec.backend}` : ''}`,
  );

  // BullMQ never closes a connection it was given: each one is disconnected below
  const probeConnection = o.exitWhenDone ? redisConnection(o.url) : undefined;
  const probe = probeConnection ? new Queue(o.queueName, { connection: probeConnection }) : undefined;
  let timer: NodeJS.Timeout | undefined;
  const code = await new Promise<number>((resolve) => {
    const onSignal = () => {
      if (stopping) return;
      stopping = true;
      say(
        `worker: stopping: ${active.size} running run(s) checkpoint after their current step and go back to the queue`,
      );
      for (const h of active.values()) h.stop();
      resolve(130);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    if (probe) {
      timer = setInterval(() => {
        if (active.size > 0 || stopping) return;
        void probe.getJobCounts('waiting', 'prioritized', 'delayed', 'active').then((c) => {
          if (Object.values(c).every((n) => n === 0) && active.size === 0 && !stopping) {
            stopping = true;
            say('worker: the queue is empty; exiting');
            resolve(0);
          }
        });
      }, 500);
    }
  });
  clearInterval(timer);
  await worker.close();
  await probe?.close();
  probeConnection?.disconnect();
  connection.disconnect();
  return code;
}
