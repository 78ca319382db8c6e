/**
 * The experiment grid (EXPERIMENTS.md) as a client of the sweep machinery (sweeps/): the flags become a
 * grid file (`<out>/grid.json`, the same JSON `promptgrad sweep --grid` takes), whose runs train into
 * `<out>/<run-id>/` (metrics.jsonl, results.json, config.json, curve.svg, checkpoint/), `--parallel n` at
 * a time on this machine, or go to a Redis queue for `promptgrad worker`s with `--queue redis://…`.
 * Resumable: a finished run (results.json) is skipped, one with a checkpoint is resumed.
 *
 *   node --import ./scripts/register.mjs experiments/grid.ts --model models/demo-encoder \
 *     --tasks RTE,CB,BoolQ,WiC --variants soft,prefix,dp-pos,dp-full,infoprompt --seeds 1,2,3 \
 *     --steps 100 --eval-every 10 --val-limit 300 --out runs/experiments [--parallel 2] [--dry-run]
 *
 * Validation (FewGLUE `val`, the reported split) can be subsampled with `--val-limit`: the same seeded
 * subset (`--val-seed`) for every method and seed. The dev split (dev32) is always used whole.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BUNDLED_FEWGLUE } from '../data/bundled.ts';
import { decodeGrid, expandGrid } from '../sweeps/grid.ts';
import { runSweepLocally } from '../sweeps/local.ts';
import { DEFAULT_QUEUE_NAME, submitSweep } from '../sweeps/queue.ts';
import { writeGridFile } from './output-files.ts';
import { VARIANTS } from './variants.ts';

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
    /** Frozen dense-weight storage: f32 | f16 | int8 (core/tensor/int8.ts). */
    weights: { type: 'string', default: 'f32' },
    parallel: { type: 'string', default: '1' },
    queue: { type: 'string' },
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
  out = resolve(a.out);
const lrOverride = new Map(
  list(a.lr).map((kv) => {
    const [k, v] = kv.split('=');
    return [k ?? '', Number(v)] as const;
  }),
);
const promptLength = int('prompt-length', a['prompt-length']);
const modelCfg = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')) as { max_position_embeddings?: number };
// Soft / dynamic prompts add m positions in front of (or around) the text: keep m + n within the position table.
const maxLength = Math.min(
  int('max-length', a['max-length']),
  (modelCfg.max_position_embeddings ?? 512) - promptLength,
);

const gridJson = {
  model,
  data: resolve(a.data),
  tasks: list(a.tasks),
  methods: list(a.variants).map((v) => (lrOverride.has(v) ? { name: v, lr: lrOverride.get(v) } : v)),
  seeds: list(a.seeds).map((s) => int('seeds', s)),
  valLimit: int('val-limit', a['val-limit']),
  valSeed: int('val-seed', a['val-seed']),
  steps: int('steps', a.steps),
  evalEvery: int('eval-every', a['eval-every']),
  batchSize: int('batch-size', a['batch-size']),
  promptLength,
  maxLength,
  checkpointEvery: 50,
  segmentIds: a['segment-ids'],
  backend: a.backend,
  threads: int('threads', a.threads),
  weights: a.weights,
};
const runs = expandGrid(decodeGrid(gridJson, 'grid flags', process.cwd()));
const gridFile = writeGridFile(out, gridJson);
console.log(`grid: ${runs.length} runs; grid file ${gridFile}`);

if (a['dry-run']) {
  for (const r of runs) console.log(`${r.id}: ${JSON.stringify(r.config)}`);
} else if (a.queue !== undefined) {
  const s = await submitSweep(a.queue, DEFAULT_QUEUE_NAME, out, runs, { attempts: 3 });
  console.log(`grid: queued ${s.added + s.requeued} runs on ${a.queue}; start workers with --runs ${out}`);
} else {
  const r = await runSweepLocally(out, runs, { parallel: int('parallel', a.parallel), exec: {} });
  console.log(`grid: ${r.finished} finished, ${r.skipped} skipped, ${r.failed.length} failed`);
  if (r.failed.length > 0 || r.interrupted) process.exitCode = 1;
}
