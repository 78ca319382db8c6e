/**
 * The sweep's side of the BullMQ queue: the Redis connection (checked up front, so an unreachable server
 * is one clear line and exit 2, not a reconnect loop), submitting a grid's unfinished runs as one job each
 * (job id = run id, so a run is never queued twice), and the status counts.
 */
import { existsSync, readdirSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { UsageError } from '../training/usage-error.ts';
import type { SweepRun } from './grid.ts';
import { hasCheckpoint, isFinished, runDir } from './run-one.ts';

export const DEFAULT_QUEUE_NAME = 'promptgrad-sweep';

/** What a job carries: the whole run, so a worker needs nothing but the shared runs folder. */
export interface SweepJobData {
  readonly run: SweepRun;
}

function checkUrl(url: string): void {
  if (!/^rediss?:\/\//.test(url))
    throw new UsageError(`--queue ${url}: expected a Redis URL such as redis://127.0.0.1:6379`);
}

/** A connection for BullMQ (commands wait for a reconnect instead of failing, as BullMQ requires). */
export function redisConnection(url: string): Redis {
  checkUrl(url);
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** Connects once without retrying; an unreachable or refusing server is the user's to fix (exit 2). */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  checkUrl(url);
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  let cause: Error | undefined; // the socket's error (ECONNREFUSED …); connect() only says "Connection is closed"
  probe.on('error', (e: Error) => (cause ??= e));
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    const why = cause?.message ?? (e instanceof Error ? e.message : String(e));
    throw new UsageError(`--queue ${url}: cannot reach Redis (${why}); start redis-server there or fix the URL`);
  } finally {
    probe.disconnect();
  }
}

export interface SubmitResult {
  readonly added: number;
  readonly alreadyFinished: number;
  readonly alreadyQueued: number;
  /** Runs whose job had failed (or completed without results.json in this runs folder), queued again. */
  readonly requeued: number;
}

export async function submitSweep(
  url: string,
  queueName: string,
  runs: string,
  all: readonly SweepRun[],
  o: { readonly attempts: number },
): Promise<SubmitResult> {
  await checkRedis(url);
  const connection = redisConnection(url);
  const queue = new Queue<SweepJobData>(queueName, { connection });
  let added = 0,
    alreadyFinished = 0,
    alreadyQueued = 0,
    requeued = 0;
  try {
    for (const run of all) {
      if (isFinished(runDir(runs, run.id))) {
        alreadyFinished++;
        continue;
      }
      const existing = await queue.getJob(run.id);
      if (existing) {
        const state = await existing.getState();
        if (state !== 'failed' && state !== 'completed') {
          alreadyQueued++;
          continue;
        }
        await existing.remove();
        requeued++;
      } else added++;
      await queue.add('run', { run }, { jobId: run.id, attempts: o.attempts, removeOnComplete: false });
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return { added, alreadyFinished, alreadyQueued, requeued };
}

export interface SweepStatus {
  readonly counts: Readonly<Record<'waiting' | 'active' | 'delayed' | 'completed' | 'failed', number>>;
  readonly failed: readonly { readonly id: string; readonly reason: string }[];
  /** From the runs folder: run folders with results.json, and unfinished ones holding a checkpoint. */
  readonly folder: { readonly finished: number; readonly resumable: number } | null;
}

export async function sweepStatus(url: string, queueName: string, runs: string | undefined): Promise<SweepStatus> {
  await checkRedis(url);
  const connection = redisConnection(url);
  const queue = new Queue<SweepJobData>(queueName, { connection });
  try {
    const c = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
    const failedJobs = await queue.getFailed(0, -1);
    const dirs =
      runs !== undefined && existsSync(runs)
        ? readdirSync(runs, { withFileTypes: true }).filter((d) => d.isDirectory())
        : [];
    return {
      counts: {
        waiting: (c['waiting'] ?? 0) + (c['prioritized'] ?? 0),
        active: c['active'] ?? 0,
        delayed: c['delayed'] ?? 0,
        completed: c['completed'] ?? 0,
        failed: c['failed'] ?? 0,
      },
      failed: failedJobs.map((j) => ({ id: j.id ?? '?', reason: (j.failedReason ?? '').split('\n')[0] ?? '' })),
      folder:
        runs === undefined
          ? null
          : {
              finished: dirs.filter((d) => isFinished(runDir(runs, d.name))).length,
              resumable: dirs.filter((d) => !isFinished(runDir(runs, d.name)) && hasCheckpoint(runDir(runs, d.name)))
                .length,
            },
    };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
