/**
 * Sweeps on a real Redis (BullMQ): a small grid (bert-tiny fixture, FewGLUE RTE, 16 steps per run) queued
 * for two workers, one killed with SIGKILL mid-run after a checkpoint, a third started: every run
 * finishes exactly once, the killed run is resumed from its checkpoint, and every run folder is
 * byte-identical (checkpoint tensors, state and metrics apart from their timings, results) to a local
 * sequential sweep of the same grid. An unreachable Redis is exit 2 with one line.
 * Without redis-server the tests skip, except under CI=true where that fails.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliRun, findRedisServer, freePort, REPO, startRedis, type RedisServer } from './test-support.ts';

const bin = findRedisServer();
if (!bin) {
  if (process.env['CI'] === 'true') throw new Error('redis-server is not installed (.ci/run installs it)');
  console.log('SKIP: sweeps on Redis: no redis-server on this machine');
}

const tmp = mkdtempSync(join(tmpdir(), 'pg-sweep-'));
const GRID = join(tmp, 'grid.json');
writeFileSync(
  GRID,
  JSON.stringify({
    model: join(REPO, 'fixtures/hf-reference/bert-tiny'),
    data: join(REPO, 'datasets/fewglue'),
    tasks: ['RTE'],
    methods: ['soft', 'prefix'],
    seeds: [1, 2],
    backend: 'wasm', // workers with different --threads must still give byte-identical runs
    steps: 16,
    evalEvery: 4,
    checkpointEvery: 2,
    batchSize: 4,
    maxLength: 32,
    valLimit: 16,
  }),
);
const LOCAL = join(tmp, 'local'),
  QUEUED = join(tmp, 'queued');
let redis: RedisServer | undefined;

/** state.json / metrics.jsonl records without their wall-clock `time`. */
const untimed = (records: readonly Record<string, unknown>[]) => records.map(({ time: _t, ...r }) => r);
const metricsOf = (dir: string) =>
  untimed(
    readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );
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

  test('queued sweep, a worker killed mid-run: every run finishes once, identical to a local sequential sweep', async () => {
    const url = redis!.url;
    const local = await cliRun(['sweep', '--grid', GRID, '--runs', LOCAL, '--parallel', '1']);
    assert.is(local.code, 0, local.out);
    const ids = readdirSync(LOCAL).sort();
    assert.is(ids.length, 4);

    const submitted = await cliRun(['sweep', '--grid', GRID, '--runs', QUEUED, '--queue', url]);
    assert.is(submitted.code, 0, submitted.out);
    assert.match(submitted.out, /4 queued/);
    const again = await cliRun(['sweep', '--grid', GRID, '--runs', QUEUED, '--queue', url]);
    assert.match(again.out, /0 queued, 0 queued again \(had failed\), 4 already queued/);

    const worker = (...extra: string[]) =>
      cli(['worker', '--queue', url, '--runs', QUEUED, '--lock-duration', '5000', ...extra]);
    const a = worker('--threads', '1'),
      b = worker('--threads', '2', '--exit-when-done');
    // A is past step 8 of a run: its step-6 checkpoint is on disk, the run not finished.
    const [, victim] = await a.waitFor(/\[(\S+)\] \S+ step (?:8|12)\/16/, 120_000);
    a.proc.kill('SIGKILL');
    await a.exited;
    assert.ok(victim !== undefined && !existsSync(join(QUEUED, victim, 'results.json')), `${victim} not finished`);
    const c = worker('--exit-when-done');
    const [codeB, codeC] = await Promise.all([b.exited, c.exited]);
    assert.is(codeB, 0, b.output());
    assert.is(codeC, 0, c.output());

    const all = [a, b, c].map((w) => w.output()).join('\n');
    for (const id of ids) {
      // trained once; a worker may still acknowledge a finished run ("already finished") if a loaded
      // machine let a lock lapse, which must not train it again
      const completions = all
        .split('\n')
        .filter((l) => l.startsWith(`completed ${id}:`) && !l.includes('already finished'));
      assert.is(completions.length, 1, `${id} completed once:\n${completions.join('\n')}`);
      if (id === victim) assert.match(completions[0]!, /\(resumed from step (6|8|10|12)\)/);
    }
    const status = await cliRun(['sweep', 'status', '--queue', url, '--runs', QUEUED]);
    assert.is(status.code, 0, status.out);
    assert.match(status.out, /waiting 0, active 0, delayed 0, completed 4, failed 0/);
    assert.match(status.out, /4 finished, 0 with a checkpoint/);

    for (const id of ids) {
      const [l, q] = [join(LOCAL, id), join(QUEUED, id)];
      for (const f of ['checkpoint/state.safetensors', 'results.json', 'config.json'])
        assert.ok(readFileSync(join(l, f)).equals(readFileSync(join(q, f))), `${id}/${f} differs`);
      assert.equal(stateOf(q), stateOf(l), `${id}/checkpoint/state.json`);
      assert.equal(metricsOf(q), metricsOf(l), `${id}/metrics.jsonl`);
    }
  });

  test('SIGTERM: the worker checkpoints after its step, releases the job (exit 130); the next worker resumes it', async () => {
    const url = redis!.url;
    const grid = join(tmp, 'grid-seed3.json');
    writeFileSync(grid, JSON.stringify({ ...JSON.parse(readFileSync(GRID, 'utf8')), methods: ['soft'], seeds: [3] }));
    const dir = join(tmp, 'sigterm');
    assert.is((await cliRun(['sweep', '--grid', grid, '--runs', dir, '--queue', url])).code, 0);
    const worker = (...extra: string[]) =>
      cli(['worker', '--queue', url, '--runs', dir, '--lock-duration', '5000', ...extra]);
    const d = worker();
    const [, id] = await d.waitFor(/\[(\S+)\] \S+ step 4\/16/, 120_000);
    d.proc.kill('SIGTERM');
    assert.is(await d.exited, 130, d.output());
    const [, step] = /released (?:\S+) at step (\d+) \(checkpointed/.exec(d.output()) ?? [];
    assert.ok(step !== undefined && Number(step) >= 4 && Number(step) < 16, d.output());
    const waiting = await cliRun(['sweep', 'status', '--queue', url]);
    assert.match(waiting.out, /waiting 1, active 0/);
    const e = worker('--exit-when-done');
    assert.is(await e.exited, 0, e.output());
    assert.match(e.output(), new RegExp(`completed ${id}: .*\\(resumed from step ${step}\\)`));
  });

  test('sweep report: table and plots of the finished runs', async () => {
    const out = join(tmp, 'report');
    const r = await cliRun(['sweep', 'report', '--runs', LOCAL, '--out', out]);
    assert.is(r.code, 0, r.out);
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    // the val accuracies of the two seeds, read from each run's results.json, averaged by hand
    for (const method of ['soft', 'prefix']) {
      const accs = readdirSync(LOCAL)
        .filter((id) => id.startsWith(`RTE-${method}-`))
        .map(
          (id) =>
            (JSON.parse(readFileSync(join(LOCAL, id, 'results.json'), 'utf8')) as { test: { accuracy: number } }).test
              .accuracy,
        );
      assert.is(accs.length, 2);
      const mean = ((100 * (accs[0]! + accs[1]!)) / 2).toFixed(1);
      const row = md
        .split('\n')
        .find((l) => l.startsWith(`| RTE | ${method === 'soft' ? 'soft prompt' : 'deep prompt (prefix)'} |`));
      assert.ok(row?.includes(`| 2 | ${mean} ± `), `${method}: ${row ?? md}`);
    }
    assert.ok(readFileSync(join(out, 'plots', 'RTE.svg'), 'utf8').startsWith('<svg'));
  });
}

test('an unreachable Redis: exit 2 with one line naming the URL', async () => {
  const url = `redis://127.0.0.1:${await freePort()}`;
  for (const args of [
    ['sweep', '--grid', GRID, '--runs', join(tmp, 'never'), '--queue', url],
    ['worker', '--queue', url, '--runs', join(tmp, 'never')],
    ['sweep', 'status', '--queue', url],
  ]) {
    const r = await cliRun(args);
    assert.is(r.code, 2, r.out);
    assert.is(r.out.trim().split('\n').length, 1, r.out);
    assert.match(r.out, new RegExp(`^promptgrad: --queue ${url}: cannot reach Redis \\(.*ECONNREFUSED`));
  }
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
