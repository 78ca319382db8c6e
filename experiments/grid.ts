/**
 * The experiment grid (EXPERIMENTS.md): FewGLUE tasks × prompt-method variants × seeds, each run trained
 * in-process with the library's `train` (training/loop.ts) on a frozen encoder, into
 * `<out>/<task>/<variant>/seed-<n>/` (metrics.jsonl, results.json, config.json, curve.svg, checkpoint/).
 * Resumable: a run with results.json is skipped, one with a checkpoint is resumed.
 *
 *   node --import ./scripts/register.mjs experiments/grid.ts --model models/demo-encoder \
 *     --tasks RTE,CB,BoolQ,WiC --variants soft,prefix,dp-pos,dp-full,infoprompt --seeds 1,2,3 \
 *     --steps 100 --eval-every 10 --val-limit 300 --out runs/experiments [--shard 0/2] [--dry-run]
 *
 * Validation (FewGLUE `val`, the reported split) can be subsampled with `--val-limit`: the same seeded
 * subset (`--val-seed`) for every method and seed. The dev split (dev32) is always used whole.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import { RUN_FILES, train } from '../training/loop.ts';
import { decodePartial, DEFAULTS, kebab, mergeConfig, type RunConfig } from '../training/run-config.ts';
import { backendFor, loadModel } from '../training/run-setup.ts';
import { loadTaskData, type TaskData } from '../training/task-data.ts';
import { buildTaskModel } from '../training/task-model.ts';
import { loadPromptTokenizer } from '../training/text-encoding.ts';
import { VARIANTS, majorityRate, subsampleVal, type VariantName } from './variants.ts';
import { BUNDLED_FEWGLUE } from '../data/bundled.ts';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' },
    data: { type: 'string', default: BUNDLED_FEWGLUE },
    tasks: { type: 'string', default: 'RTE,CB,BoolQ,WiC' },
    variants: { type: 'string', default: Object.keys(VARIANTS).join(',') },
    seeds: { type: 'string', default: '1,2,3' },
    steps: { type: 'string', default: '100' },
    'eval-every': { type: 'string', default: '10' },
    'batch-size': { type: 'string', default: '8' },
    'prompt-length': { type: 'string', default: '8' },
    'max-length': { type: 'string', default: '128' },
    'val-limit': { type: 'string', default: '0' },
    'val-seed': { type: 'string', default: '1234' },
    /** Per-variant learning rates, e.g. `soft=0.02,prefix=0.01` (defaults in variants.ts). */
    lr: { type: 'string', default: '' },
    backend: { type: 'string', default: 'cpu' },
    /** `single`: token type 0 for both texts of a pair (for encoders that never trained type 1). */
    'segment-ids': { type: 'string', default: 'pair' },
    threads: { type: 'string', default: '2' },
    shard: { type: 'string', default: '0/1' },
    out: { type: 'string', default: 'runs/experiments' },
    'dry-run': { type: 'boolean', default: false },
  },
});

const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
const int = (name: string, s: string): number => {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`--${name}: expected an integer ≥ 0, got ${JSON.stringify(s)}`);
  return n;
};

if (a.model === undefined) throw new Error('--model <HF folder> is required');
const model = resolve(a.model),
  data = resolve(a.data),
  out = resolve(a.out);
const tasks = list(a.tasks),
  seeds = list(a.seeds).map((s) => int('seeds', s));
const variants = list(a.variants).map((v) => {
  if (!(v in VARIANTS)) throw new Error(`--variants: unknown "${v}" (known: ${Object.keys(VARIANTS).join(', ')})`);
  return v as VariantName;
});
const lrOverride = new Map(
  list(a.lr).map((kv) => {
    const [k, v] = kv.split('=');
    return [k ?? '', Number(v)] as const;
  }),
);
const steps = int('steps', a.steps),
  evalEvery = int('eval-every', a['eval-every']),
  batchSize = int('batch-size', a['batch-size']);
const promptLength = int('prompt-length', a['prompt-length']),
  valLimit = int('val-limit', a['val-limit']),
  valSeed = int('val-seed', a['val-seed']);
// backend, threads and segment ids are run-config fields: the config's own decoder checks them
const runFlags = decodePartial(
  { backend: a.backend, threads: a.threads, segmentIds: a['segment-ids'] },
  'grid flags',
  kebab,
);
if (E.isLeft(runFlags)) throw new Error(runFlags.left.message);
const { backend, threads, segmentIds } = { ...DEFAULTS, ...runFlags.right };
const [shardI, shardN] = a.shard.split('/').map((s) => int('shard', s)) as [number, number];
const modelCfg = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')) as { max_position_embeddings?: number };
// Soft / dynamic prompts add m positions in front of (or around) the text: keep m + n within the position table.
const maxLength = Math.min(
  int('max-length', a['max-length']),
  (modelCfg.max_position_embeddings ?? 512) - promptLength,
);

/** The reported split, subsampled (seeded, the same subset for every run) when --val-limit > 0. */
function withValLimit(t: TaskData): TaskData {
  return { ...t, test: subsampleVal(t.test, valLimit, valSeed) };
}

interface Job {
  readonly task: string;
  readonly variant: VariantName;
  readonly seed: number;
  readonly dir: string;
}
// Seeds outermost: an interrupted grid still has every task × variant with its first seeds.
const jobs: Job[] = seeds.flatMap((seed) =>
  tasks.flatMap((task) =>
    variants.map((variant) => ({ task, variant, seed, dir: join(out, task, variant, `seed-${seed}`) })),
  ),
);
const mine = jobs.filter((_, i) => i % shardN === shardI);

const settings = {
  model: a.model,
  data,
  tasks,
  variants,
  seeds,
  steps,
  evalEvery,
  batchSize,
  promptLength,
  maxLength,
  valLimit,
  valSeed,
  backend,
  segmentIds,
  lr: Object.fromEntries(variants.map((v) => [v, lrOverride.get(v) ?? VARIANTS[v].lr])),
};
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, `grid-${shardI}-of-${shardN}.json`),
  `${JSON.stringify({ ...settings, argv: process.argv.slice(2) }, null, 2)}\n`,
);
console.log(`grid: ${jobs.length} runs (${mine.length} in shard ${shardI}/${shardN}); ${JSON.stringify(settings)}`);

const { backend: bk, note: backendNote } = await backendFor(backend, threads);
console.log(`grid: ${backendNote}`);
const bert = await loadModel(model, 'f32', bk);
const tok = await loadPromptTokenizer(model)();
if (E.isLeft(tok)) throw new Error(tok.left.message);
const taskCache = new Map<string, TaskData>();
async function taskData(name: string): Promise<TaskData> {
  const hit = taskCache.get(name);
  if (hit) return hit;
  const t = await loadTaskData(name, data)();
  if (E.isLeft(t)) throw new Error(t.left.message);
  const v = withValLimit(t.right);
  taskCache.set(name, v);
  return v;
}

const t0 = performance.now();
for (const [i, job] of mine.entries()) {
  const tag = `[${i + 1}/${mine.length}] ${job.task} ${job.variant} seed ${job.seed}`;
  if (existsSync(join(job.dir, RUN_FILES.results))) {
    console.log(`${tag}: done, skipped`);
    continue;
  }
  const resume = existsSync(join(job.dir, RUN_FILES.checkpoint));
  const variant = VARIANTS[job.variant];
  const merged = mergeConfig(
    [
      variant.config,
      {
        model,
        data,
        task: job.task,
        seed: job.seed,
        steps,
        evalEvery,
        batchSize,
        promptLength,
        maxLength,
        lr: lrOverride.get(job.variant) ?? variant.lr,
        checkpointEvery: 50,
        segmentIds,
        backend,
        threads,
      },
    ],
    'grid',
  );
  if (E.isLeft(merged)) throw new Error(merged.left.message);
  const cfg: RunConfig = merged.right;
  if (a['dry-run']) {
    console.log(`${tag}: would ${resume ? 'resume' : 'train'} ${JSON.stringify(cfg)}`);
    continue;
  }
  const task = await taskData(job.task);
  const tm = buildTaskModel(bert, tok.right, task, cfg);
  const s0 = performance.now();
  const r = await train(tm, task, {
    out: job.dir,
    resume,
    stream: null,
    configExtra: {
      variant: job.variant,
      valLimit,
      valSeed,
      valSize: task.test.length,
      devMajority: majorityRate(task.dev.map((e) => e.label)),
      valMajority: majorityRate(task.test.map((e) => e.label)),
      backend,
    },
  });
  const test = r.test
    ? Object.entries(r.test)
        .map(([k, v]) => `${k} ${v?.toFixed(3)}`)
        .join(', ')
    : '-';
  console.log(
    `${tag}: best dev ${r.bestDev.toFixed(3)} @ ${r.bestStep}, val ${test} (${((performance.now() - s0) / 1000).toFixed(0)} s, total ${((performance.now() - t0) / 60000).toFixed(1)} min)`,
  );
}
console.log('grid: shard finished');
