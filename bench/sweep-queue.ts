/**
 * What the Redis queue costs a sweep: the same small grid (bert-tiny fixture, FewGLUE RTE + CB, soft +
 * prefix, 2 seeds = 8 runs of 16 steps) run locally with `--parallel 2`, and through a redis-server on
 * this machine by 2 already-started `promptgrad worker` processes (submit → every job completed, polled
 * every 20 ms). Repeated REPS times, alternating; prints each wall time and the queue's overhead per run.
 *
 *   node --import ./scripts/register.mjs bench/sweep-queue.ts [--reps 3]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { expandGrid, readGridFile } from '../sweeps/grid.ts';
import { runSweepLocally } from '../sweeps/local.ts';
import { redisConnection, submitSweep } from '../sweeps/queue.ts';
import { cli, findRedisServer, REPO, startRedis } from '../sweeps/test-support.ts';

const { values: a } = parseArgs({ options: { reps: { type: 'string', default: '3' } } });
const bin = findRedisServer();
if (!bin) throw new Error('redis-server is not installed');
const tmp = mkdtempSync(join(tmpdir(), 'pg-bench-sweep-'));
const gridFile = join(tmp, 'grid.json');
writeFileSync(
  gridFile,
  JSON.stringify({
    model: join(REPO, 'fixtures/hf-reference/bert-tiny'),
    data: join(REPO, 'datasets/fewglue'),
    tasks: ['RTE', 'CB'],
    methods: ['soft', 'prefix'],
    seeds: [1, 2],
    steps: 16,
    evalEvery: 8,
    batchSize: 4,
    maxLength: 64,
    valLimit: 32,
  }),
);
const runs = expandGrid(readGridFile(gridFile));
const redis = await startRedis(bin);
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const rows: { local: number; queued: number }[] = [];
const gaps: number[] = [];
try {
  for (let rep = 0; rep < Number(a.reps); rep++) {
    const t0 = performance.now();
    await runSweepLocally(join(tmp, `local-${rep}`), runs, { parallel: 2, exec: {}, say: () => {} });
    const local = performance.now() - t0;

    const queueName = `bench-${rep}`;
    const dir = join(tmp, `queued-${rep}`);
    const workers = [0, 1].map(() => cli(['worker', '--queue', redis.url, '--runs', dir, '--queue-name', queueName]));
    await Promise.all(workers.map((w) => w.waitFor(/^worker: queue/m, 60_000)));
    const connection = redisConnection(redis.url);
    const queue = new Queue(queueName, { connection });
    const t1 = performance.now();
    await submitSweep(redis.url, queueName, dir, runs, { attempts: 1 });
    for (;;) {
      const c = await queue.getJobCounts('completed', 'failed');
      if ((c['failed'] ?? 0) > 0) throw new Error(`a run failed:\n${workers.map((w) => w.output()).join('\n')}`);
      if (c['completed'] === runs.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const queued = performance.now() - t1;
    // The handoff: from a run's job finishing to the next job starting on a freed worker (Redis round trips).
    const jobs = await queue.getJobs(['completed']);
    const finished = jobs.map((j) => j.finishedOn ?? 0).sort((p, q) => p - q);
    for (const j of jobs) {
      const freed = finished.filter((f) => f <= (j.processedOn ?? 0)).at(-1);
      if (freed !== undefined) gaps.push((j.processedOn ?? 0) - freed);
    }
    await queue.close();
    connection.disconnect();
    for (const w of workers) w.proc.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    rows.push({ local, queued });
    console.log(
      `rep ${rep + 1}: local --parallel 2 ${seconds(local)} s, 2 workers via Redis ${seconds(queued)} s (${runs.length} runs)`,
    );
  }
} finally {
  await redis.stop();
  rmSync(tmp, { recursive: true, force: true });
}
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const [l, q] = [median(rows.map((r) => r.local)), median(rows.map((r) => r.queued))];
console.log(
  `median of ${rows.length}: local ${seconds(l)} s, queue ${seconds(q)} s; wall-clock difference ${((q - l) / runs.length).toFixed(0)} ms per run (${runs.length} runs)`,
);
console.log(
  `job handoff (a job's finish to the next job's start, ${gaps.length} handoffs): median ${median(gaps)} ms, max ${Math.max(...gaps)} ms`,
);
