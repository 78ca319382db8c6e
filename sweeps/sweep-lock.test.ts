/**
 * A worker that loses its job's lock while its run trains, on a real Redis (BullMQ): worker A (wasm,
 * 1 thread) is paused with SIGSTOP past its 2 s lock, its job stalls and worker B (wasm, 2 threads)
 * resumes the run from its checkpoint; A is then continued (SIGCONT). A must stop that run before its
 * next write, with one line saying so, while B finishes it: the run completes once, and its folder is
 * byte-identical (config.json, checkpoint, results; metrics apart from their timings) to a local
 * sequential sweep of the same grid, although the attempts ran on different thread counts (recorded
 * in <runs>/.sweep/<id>/attempts.jsonl, not in config.json).
 * Without redis-server the test skips, except under CI=true where that fails.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliRun, findRedisServer, REPO, startRedis, type RedisServer } from './test-support.ts';

const bin = findRedisServer();
if (!bin) {
  if (process.env['CI'] === 'true') throw new Error('redis-server is not installed (.ci/run installs it)');
  console.log('SKIP: sweep lock loss on Redis: no redis-server on this machine');
}

const tmp = mkdtempSync(join(tmpdir(), 'pg-sweep-lock-'));
const GRID = join(tmp, 'grid.json');
writeFileSync(
  GRID,
  JSON.stringify({
    model: join(REPO, 'fixtures/hf-reference/bert-tiny'),
    data: join(REPO, 'datasets/fewglue'),
    tasks: ['CB'],
    methods: ['soft'],
    seeds: [7],
    backend: 'wasm',
    steps: 40,
    evalEvery: 8,
    checkpointEvery: 2,
    batchSize: 4,
    maxLength: 32,
    valLimit: 16,
  }),
);
let redis: RedisServer | undefined;

const lines = (f: string) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const untimed = (records: readonly Record<string, unknown>[]) => records.map(({ time: _t, ...r }) => r);
const stateOf = (dir: string) => {
  const s = JSON.parse(readFileSync(join(dir, 'checkpoint/state.json'), 'utf8')) as {
    metrics: Record<string, unknown>[];
  };
  return { ...s, metrics: untimed(s.metrics) };
};

if (bin) {
  test.before(async () => {
    redis = await startRedis(bin);
  });
  test.after(async () => {
    await redis?.stop();
  });

  test('a paused worker loses its lock: it stops the run unwritten, another resumes it, the run finishes once and identical', async () => {
    const url = redis!.url;
    const local = join(tmp, 'local'),
      queued = join(tmp, 'queued');
    const l = await cliRun(['sweep', '--grid', GRID, '--runs', local]);
    assert.is(l.code, 0, l.out);
    assert.is((await cliRun(['sweep', '--grid', GRID, '--runs', queued, '--queue', url])).code, 0);

    const started: ReturnType<typeof cli>[] = [];
    const worker = (...extra: string[]) => {
      const w = cli(['worker', '--queue', url, '--runs', queued, '--lock-duration', '2000', ...extra]);
      started.push(w);
      return w;
    };
    try {
      await pausedWorkerLosesItsRun(worker, local, queued);
    } finally {
      // a failed check must not leave a worker behind (it would retry the stopped Redis for ever)
      for (const w of started) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
    }
  });
}

async function pausedWorkerLosesItsRun(
  worker: (...extra: string[]) => ReturnType<typeof cli>,
  local: string,
  queued: string,
): Promise<void> {
  const [id] = readdirSync(local);
  assert.ok(id !== undefined);
  const a = worker('--threads', '1');
  await a.waitFor(/\] \S+ step (?:6|8|10)\/40/, 120_000);
  a.proc.kill('SIGSTOP');
  const b = worker('--threads', '2', '--exit-when-done');
  try {
    await b.waitFor(/\] resuming from step \d+/, 60_000);
    await b.waitFor(/\] \S+ step (?:1[2-9]|2\d)\/40/, 60_000); // B is writing the run now
  } finally {
    a.proc.kill('SIGCONT');
  }
  assert.is(await b.exited, 0, b.output());
  await a.waitFor(/dropped \S+: .*stopped with nothing written/, 30_000);
  a.proc.kill('SIGTERM');
  assert.is(await a.exited, 130, a.output());

  const all = `${a.output()}\n${b.output()}`;
  const said = (re: RegExp) => all.split('\n').filter((x) => re.test(x));
  assert.is(said(new RegExp(`^completed ${id}: `)).length, 1, all);
  assert.is(said(new RegExp(`^completed ${id}: .*\\(resumed from step \\d+\\)`)).length, 1, all);
  assert.is(said(/^dropped /).length, 1, all);
  assert.ok(!/^completed /m.test(a.output()), a.output()); // A never completed it

  const [ld, qd] = [join(local, id), join(queued, id)];
  for (const f of ['checkpoint/state.safetensors', 'results.json', 'config.json'])
    assert.ok(readFileSync(join(ld, f)).equals(readFileSync(join(qd, f))), `${f} differs`);
  assert.equal(stateOf(qd), stateOf(ld), 'checkpoint/state.json');
  assert.equal(untimed(lines(join(qd, 'metrics.jsonl'))), untimed(lines(join(ld, 'metrics.jsonl'))), 'metrics');
  const attempts = lines(join(queued, '.sweep', id, 'attempts.jsonl'));
  assert.equal(
    attempts.map((x) => x['threads']),
    [1, 2],
    'each attempt records its own thread count',
  );
  assert.is(attempts[1]!['resumedFrom'] !== null, true);
}

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
