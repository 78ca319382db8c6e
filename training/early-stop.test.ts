/**
 * Early stopping on the dev metric (`earlyStopPatience` / `--early-stop-patience`, or the API's
 * `earlyStoppingPatience`): with a learning rate of 1e-12 the dev accuracy cannot move, so the first
 * evaluation (step 1) stays the best and a patience of 2 stops the run after the evaluations at steps 2
 * and 3. The stop is also checked against the metrics log: the run ends at the first dev evaluation that
 * follows `patience` evaluations without a better score, it is scored and results.json written.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from '../cli/testing/run-cli.ts';
import { readMetricsLog, type MetricRecord } from './log.ts';
import { RUN_FILES, train } from './loop.ts';
import { mergeConfig, type RunConfig } from './run-config.ts';
import { setupRun } from './run-setup.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'pg-early-stop-'));
const BASE = { model: MODEL, task: 'RTE', steps: 10, evalEvery: 1, batchSize: 4, maxLength: 32, promptLength: 2 };

const devRecords = (dir: string): MetricRecord[] => {
  const r = readMetricsLog(join(dir, RUN_FILES.metrics));
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right.records.filter((x) => x.split === 'dev');
};

/** Where a patience-`p` run must stop, from its own dev log: the first evaluation `p` after the best so far. */
function expectedStop(dev: readonly MetricRecord[], p: number): number | undefined {
  let best = -Infinity,
    since = 0;
  for (const r of dev) {
    const v = r['accuracy'] as number;
    if (v > best) [best, since] = [v, 0];
    else if (++since >= p) return r.step;
  }
  return undefined;
}

async function run(over: Partial<RunConfig>, out: string, patience?: number) {
  const c = mergeConfig([{ ...BASE, backend: 'cpu', ...over }]);
  if (E.isLeft(c)) throw new Error(c.left.message);
  const { tm, task } = await setupRun(c.right);
  const t = { ...task, dev: task.dev.slice(0, 8), test: task.test.slice(0, 8) };
  return train(tm, t, { out, stream: null, ...(patience !== undefined ? { earlyStoppingPatience: patience } : {}) });
}

test('API: patience 2 with a frozen dev score stops after step 3, scored and complete', async () => {
  const out = join(tmp, 'api');
  const r = await run({ lr: 1e-12 }, out, 2);
  assert.ok(r.stoppedEarly);
  assert.not.ok(r.interrupted);
  assert.is(r.steps, 3);
  assert.is(r.bestStep, 1);
  assert.equal(
    devRecords(out).map((d) => d.step),
    [1, 2, 3],
  );
  assert.is(expectedStop(devRecords(out), 2), 3);
  assert.ok(r.test && typeof r.test['accuracy'] === 'number', 'the best parameters are scored on test');
  assert.is((JSON.parse(readFileSync(join(out, RUN_FILES.results), 'utf8')) as { steps: number }).steps, 3);
});

test('config earlyStopPatience: a training run stops where its own dev log says it must', async () => {
  const out = join(tmp, 'cfg');
  const r = await run({ lr: 3e-2, earlyStopPatience: 1 }, out);
  const want = expectedStop(devRecords(out), 1);
  assert.is(r.stoppedEarly, want !== undefined);
  assert.is(r.steps, want ?? 10);
  assert.is(devRecords(out).at(-1)!.step, r.steps, 'no evaluation after the stop');
});

test('CLI --early-stop-patience: stops, says so in config.json, exits 0', async () => {
  const out = join(tmp, 'cli');
  const argv = Object.entries({ ...BASE, lr: 1e-12, backend: 'cpu', earlyStopPatience: 3 }).flatMap(([k, v]) => [
    `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    String(v),
  ]);
  const r = await runCli('train', ...argv, '--out', out);
  assert.is(r.code, 0, r.err);
  assert.match(
    r.out,
    /done: 4 steps \(stopped early: 3 dev evaluations without a better score\), best dev accuracy [\d.]+ at step 1/,
  );
  assert.is((JSON.parse(readFileSync(join(out, RUN_FILES.config), 'utf8')) as RunConfig).earlyStopPatience, 3);
  assert.ok(existsSync(join(out, RUN_FILES.results)));
  const bad = await runCli('train', ...argv, '--early-stop-patience', '-1', '--out', join(tmp, 'bad'));
  assert.is(bad.code, 2);
  assert.match(bad.err, /--early-stop-patience/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
