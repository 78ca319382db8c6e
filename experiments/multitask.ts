/**
 * The multitask experiment (EXPERIMENTS.md, "Multitask"): one multitask run per `--share` mode and seed
 * over FewGLUE tasks, each trained in-process with `trainMultitask` into `<out>/<share>/seed-<n>/` (a
 * normal multitask run folder). Resumable like grid.ts; `--shard i/n` splits the runs over processes;
 * `--aggregate` reads the finished runs and writes `experiments/results-multitask.{json,md}`.
 *
 *   node --import ./scripts/register.mjs experiments/multitask.ts --model models/demo-encoder \
 *     --tasks RTE,CB,BoolQ,WiC --shares none,prompt,pool --seeds 1,2,3 --steps 120 --out runs/exp-multitask
 *   node --import ./scripts/register.mjs experiments/multitask.ts --aggregate --out runs/exp-multitask
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import { RUN_FILES } from '../training/loop.ts';
import { mergeConfig, SHARES, type ShareName } from '../training/run-config.ts';
import { backendFor, loadModel } from '../training/run-setup.ts';
import { loadTaskData, type TaskData } from '../training/task-data.ts';
import { loadPromptTokenizer } from '../training/text-encoding.ts';
import { buildMultitaskModel } from '../training/multitask/model.ts';
import type { MultitaskResults } from '../training/multitask/report.ts';
import { trainMultitask } from '../training/multitask/train.ts';
import { NonFiniteError } from '../training/nan-guard.ts';
import { FAILED_MARKER as FAILED, markRunFailed, writeResultFiles } from './output-files.ts';
import { majorityRate, subsampleVal } from './variants.ts';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/demo-encoder' },
    data: { type: 'string', default: 'datasets/fewglue' },
    tasks: { type: 'string', default: 'RTE,CB,BoolQ,WiC' },
    shares: { type: 'string', default: SHARES.join(',') },
    seeds: { type: 'string', default: '1,2,3' },
    steps: { type: 'string', default: '120' },
    'eval-every': { type: 'string', default: '20' },
    'val-limit': { type: 'string', default: '200' },
    'val-seed': { type: 'string', default: '1234' },
    lr: { type: 'string', default: '0.02' },
    threads: { type: 'string', default: '1' },
    shard: { type: 'string', default: '0/1' },
    out: { type: 'string', default: 'runs/exp-multitask' },
    aggregate: { type: 'boolean', default: false },
  },
});
const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
const tasks = list(a.tasks),
  seeds = list(a.seeds).map(Number),
  shares = list(a.shares) as ShareName[];
const out = resolve(a.out);
const valLimit = Number(a['val-limit']),
  valSeed = Number(a['val-seed']);
/** DP pos+len+pool of the single-task grid: instance-level position, task-level length, a pool of 4. */
const METHOD = {
  method: 'dynamic',
  dynamicPosition: 'instance',
  dynamicLength: 'task',
  poolSize: 4,
  promptLength: 8,
  maxLength: 120,
  batchSize: 8,
  segmentIds: 'single',
  backend: 'wasm',
  checkpointEvery: 40,
} as const;

async function loadTasks(): Promise<TaskData[]> {
  const out: TaskData[] = [];
  for (const name of tasks) {
    const t = await loadTaskData(name, resolve(a.data))();
    if (E.isLeft(t)) throw new Error(t.left.message);
    out.push({ ...t.right, test: subsampleVal(t.right.test, valLimit, valSeed) });
  }
  return out;
}

async function run(): Promise<void> {
  const [si, sn] = a.shard.split('/').map(Number) as [number, number];
  const jobs = seeds.flatMap((seed) => shares.map((share) => ({ seed, share, dir: join(out, share, `seed-${seed}`) })));
  const mine = jobs.filter((_, i) => i % sn === si);
  const { backend } = await backendFor('wasm', Number(a.threads));
  const bert = await loadModel(resolve(a.model), 'f32', backend);
  const tok = await loadPromptTokenizer(resolve(a.model))();
  if (E.isLeft(tok)) throw new Error(tok.left.message);
  const data = await loadTasks();
  for (const job of mine) {
    if (existsSync(join(job.dir, RUN_FILES.results))) continue;
    const c = mergeConfig([
      {
        dropout: true, // as recorded in EXPERIMENTS.md (the default then)
        ...METHOD,
        model: resolve(a.model),
        data: resolve(a.data),
        task: tasks.join(','),
        share: job.share,
        mix: 'proportional',
        seed: job.seed,
        steps: Number(a.steps),
        evalEvery: Number(a['eval-every']),
        lr: Number(a.lr),
        threads: Number(a.threads),
      },
    ]);
    if (E.isLeft(c)) throw new Error(c.left.message);
    const mt = buildMultitaskModel(bert, tok.right, data, c.right);
    const t0 = performance.now();
    if (existsSync(join(job.dir, FAILED))) continue;
    const r = await trainMultitask(mt, {
      out: job.dir,
      resume: existsSync(join(job.dir, RUN_FILES.checkpoint)),
      stream: null,
      configExtra: { valLimit, valSeed },
    }).catch((e: unknown) => {
      // A run that stops (e.g. non-finite gradients) is recorded as failed and reported, not retried.
      if (!(e instanceof NonFiniteError)) throw e;
      markRunFailed(job.dir, e.message);
      console.log(`${job.share} seed ${job.seed}: FAILED: ${e.message}`);
      return undefined;
    });
    if (!r) continue;
    console.log(
      `${job.share} seed ${job.seed}: ${((performance.now() - t0) / 1000).toFixed(0)} s, best step ${r.bestStep}, test average ${r.testAverage?.toFixed(4)}`,
    );
  }
}

const pct = (x: number) => (100 * x).toFixed(1);
function meanStd(xs: readonly number[]): string {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  if (xs.length < 2) return `${pct(m)} ± –`;
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
  return `${pct(m)} ± ${pct(sd)}`;
}

/** How many of a run's steps trained `task` (its train lines in metrics.jsonl). */
function drawsOf(share: string, seed: number, task: string): number {
  const lines = readFileSync(join(out, share, `seed-${seed}`, RUN_FILES.metrics), 'utf8').split('\n');
  return lines.filter((l) => l.includes('"split":"train"') && l.includes(`"task":"${task}"`)).length;
}

async function aggregate(): Promise<void> {
  const data = await loadTasks();
  const runs = shares.flatMap((share) =>
    seeds.flatMap((seed) => {
      const f = join(out, share, `seed-${seed}`, RUN_FILES.results);
      return existsSync(f) ? [{ share, seed, r: JSON.parse(readFileSync(f, 'utf8')) as MultitaskResults }] : [];
    }),
  );
  const rows: string[] = [
    '| task | share | seeds | val acc | val macro-F1 | dev32 main metric at the best step | steps on the task (per seed) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of data) {
    const main = t.metrics.main;
    rows.push(
      `| ${t.name} | majority class | – | ${pct(majorityRate(t.test.map((e) => e.label)))} | – | ${pct(majorityRate(t.dev.map((e) => e.label)))} (acc) | – |`,
    );
    for (const share of shares) {
      const rs = runs.filter((x) => x.share === share && x.r.test);
      const acc = rs.map((x) => x.r.test![t.name]!.accuracy!);
      const f1 = rs.map((x) => x.r.test![t.name]!.macroF1).filter((v): v is number => v !== undefined);
      const dev = rs.map((x) => (x.r.bestDev.tasks[t.name] as Record<string, number>)[main]!);
      rows.push(
        `| ${t.name} | ${share} | ${rs.length} | ${rs.length ? meanStd(acc) : '–'} | ${f1.length ? meanStd(f1) : '–'} | ${rs.length ? meanStd(dev) : '–'} | ${rs.map((x) => drawsOf(x.share, x.seed, t.name)).join(', ')} |`,
      );
    }
  }
  rows.push(
    '',
    '| share | seeds | mean val main metric over tasks | mean val acc over tasks | best dev32 average | best step (per seed) |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
  );
  for (const share of shares) {
    const rs = runs.filter((x) => x.share === share && x.r.test);
    const accAvg = rs.map((x) => data.reduce((s, t) => s + x.r.test![t.name]!.accuracy!, 0) / data.length);
    rows.push(
      `| ${share} | ${rs.length} | ${rs.length ? meanStd(rs.map((x) => x.r.testAverage!)) : '–'} | ${rs.length ? meanStd(accAvg) : '–'} | ${rs.length ? meanStd(rs.map((x) => x.r.bestDev.average)) : '–'} | ${rs.map((x) => x.r.bestStep).join(', ')} |`,
    );
  }
  writeResultFiles('experiments/results-multitask', { tasks, valLimit, valSeed, runs }, rows.join('\n'));
  console.log(rows.join('\n'));
}

await (a.aggregate ? aggregate() : run());
