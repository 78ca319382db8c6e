/**
 * The multitask loop on bert-tiny with FewGLUE RTE + CB: the run folder (per-task metrics lines, one dev
 * curve per task, every task's test scores), resume ≡ uninterrupted (bit-identical state and sampler),
 * and `--share none` ≡ independent single-task runs: each task's prompt and head after a two-task run
 * equal those of the single-task loop (`train`) run for that task's number of draws — the same batches,
 * since a task's batches follow its single-task epoch order (dropout off and a constant rate, because
 * a single-task run keys dropout and the schedule by its own step count).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { treeLeaves } from '../../core/index.ts';
import { readMetricsLog } from '../log.ts';
import { RUN_FILES, train } from '../loop.ts';
import { mergeConfig, type RunConfig } from '../run-config.ts';
import { buildTaskModel } from '../task-model.ts';
import type { TaskData } from '../task-data.ts';
import { SAMPLER_JSON } from './checkpoint.ts';
import { buildMultitaskModel, type MultitaskModel } from './model.ts';
import type { MultitaskResults } from './report.ts';
import { setupMultitaskRun } from './setup.ts';
import { trainMultitask } from './train.ts';

const MODEL = new URL('../../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const DATA = new URL('../../datasets/fewglue', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'pg-multitask-'));

async function setup(over: Partial<RunConfig>, data: (t: TaskData) => TaskData): Promise<MultitaskModel> {
  const c = mergeConfig([
    {
      model: MODEL,
      task: 'RTE,CB',
      data: DATA,
      steps: 6,
      evalEvery: 3,
      checkpointEvery: 3,
      batchSize: 4,
      maxLength: 32,
      promptLength: 3,
      ...over,
    },
  ]);
  if (E.isLeft(c)) throw new Error(c.left.message);
  const { mt } = await setupMultitaskRun(c.right);
  return buildMultitaskModel(
    mt.model,
    mt.tokenizer,
    mt.tasks.map((t) => data(t.data)),
    c.right,
  );
}
const small = (t: TaskData): TaskData => ({ ...t, dev: t.dev.slice(0, 5), test: t.test.slice(0, 5) });
const file = (dir: string, f: string) => readFileSync(join(dir, f));

const DYNAMIC_POOL: Partial<RunConfig> = {
  method: 'dynamic',
  dynamicPosition: 'task',
  dynamicLength: 'instance',
  poolSize: 2,
  share: 'pool',
  mix: 'uniform',
};

test('run folder: metrics lines name their task, one dev curve per task, every task in results.json', async () => {
  const out = join(tmp, 'full');
  const r = await trainMultitask(await setup(DYNAMIC_POOL, small), { out, stream: null });
  assert.is(r.steps, 6);
  assert.equal(
    r.draws.reduce((a, b) => a + b, 0),
    6,
  );
  const log = readMetricsLog(join(out, RUN_FILES.metrics));
  if (E.isLeft(log)) throw new Error(log.left.message);
  const recs = log.right.records;
  for (const x of recs) assert.ok(['RTE', 'CB', 'average'].includes(String(x['task'])), `line names its task`);
  assert.is(recs.filter((x) => x.split === 'dev' && x['task'] === 'CB').length, 2);
  const svg = file(out, RUN_FILES.curve).toString();
  assert.ok(svg.includes('RTE dev accuracy') && svg.includes('CB dev macroF1'), 'one dev line per task');
  const res = JSON.parse(file(out, RUN_FILES.results).toString()) as MultitaskResults;
  assert.ok(typeof res.test?.['RTE']?.accuracy === 'number' && typeof res.test['CB']?.macroF1 === 'number');
  assert.ok(Math.abs(res.testAverage! - (res.test['RTE'].accuracy + res.test['CB'].macroF1) / 2) < 1e-12);
  assert.is(res.bestDev.average, r.bestDev);
});

test('resume after an interruption is bit-identical (state, sampler, logged losses)', async () => {
  const full = join(tmp, 'full'),
    split = join(tmp, 'split');
  const a = await trainMultitask(await setup(DYNAMIC_POOL, small), { out: split, stream: null, stopAfter: 4 });
  assert.ok(a.interrupted);
  await trainMultitask(await setup(DYNAMIC_POOL, small), { out: split, stream: null, resume: true });
  const losses = (dir: string) => {
    const r = readMetricsLog(join(dir, RUN_FILES.metrics));
    if (E.isLeft(r)) throw new Error(r.left.message);
    return r.right.records
      .filter((x) => x.split !== 'test')
      .map((x) => [x.step, x['task'], x.loss ?? x['mainAverage']]);
  };
  assert.equal(losses(split), losses(full));
  for (const f of ['state.safetensors', SAMPLER_JSON])
    assert.ok(
      Buffer.compare(file(split, join(RUN_FILES.checkpoint, f)), file(full, join(RUN_FILES.checkpoint, f))) === 0,
      f,
    );
  assert.equal(
    JSON.parse(file(split, RUN_FILES.results).toString()),
    JSON.parse(file(full, RUN_FILES.results).toString()),
  );
});

for (const method of ['soft', 'prefix'] as const) {
  test(`${method}, --share none: each task ends with the prompt and head of its own single-task run`, async () => {
    const over: Partial<RunConfig> = {
      method,
      share: 'none',
      dropout: false,
      schedule: 'constant',
      warmupRatio: 0,
      steps: 7,
    };
    const none = (t: TaskData): TaskData => ({ ...t, dev: [], test: [] });
    const mt = await setup(over, none);
    const r = await trainMultitask(mt, { out: join(tmp, `none-${method}`), stream: null });
    assert.ok(
      r.draws.every((d) => d > 0),
      `both tasks drawn: ${r.draws.join(', ')}`,
    );
    for (const [i, t] of mt.tasks.entries()) {
      const tm = buildTaskModel(mt.model, mt.tokenizer, t.data, { ...mt.cfg, task: t.name, steps: r.draws[i]! });
      const single = await train(tm, t.data, { out: join(tmp, `single-${method}-${t.name}`), stream: null });
      const got = treeLeaves(mt.paramsFor(r.best, i)),
        want = treeLeaves(single.best);
      assert.equal(
        got.map((l) => l.path),
        want.map((l) => l.path),
      );
      got.forEach((l, k) =>
        assert.equal(Array.from(l.leaf.dataSync()), Array.from(want[k]!.leaf.dataSync()), `${t.name} ${l.path}`),
      );
    }
  });
}

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
