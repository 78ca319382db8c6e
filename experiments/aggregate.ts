/**
 * Aggregates the grid's run folders (`<runs>/<task>/<variant>/seed-<n>/`) into
 * `<out>/results<-tag>.json`, `<out>/results<-tag>.md` (the table) and one SVG per task
 * (`<out>/plots[/<tag>]/<task>.svg`: mean dev accuracy over seeds vs step, one line per method, the dev
 * majority-class rate dashed). Unfinished runs (no `test` record) are listed and left out.
 *
 *   node --import ./scripts/register.mjs experiments/aggregate.ts --runs runs/experiments [--out experiments] [--tag demo]
 *
 * Steps-to-threshold: the first dev evaluation with accuracy ≥ dev majority-class rate + `--margin`
 * (default 0.05); seeds that never get there are counted, not averaged.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import { readMetricsLog } from '../training/log.ts';
import { lineChartSvg, PALETTE, type Series } from '../training/plot.ts';
import { fmt, summarizeGroup, summarizeRun, type GroupSummary, type RunSummary } from './summary.ts';
import { loadTaskData } from '../training/task-data.ts';
import { majorityRate, subsampleVal, VARIANTS } from './variants.ts';
import { BUNDLED_FEWGLUE } from '../data/bundled.ts';

const { values: a } = parseArgs({
  options: {
    runs: { type: 'string', default: 'runs/experiments' },
    data: { type: 'string', default: BUNDLED_FEWGLUE },
    out: { type: 'string', default: 'experiments' },
    tag: { type: 'string', default: '' },
    margin: { type: 'string', default: '0.05' },
  },
});
const runsDir = resolve(a.runs),
  outDir = resolve(a.out),
  margin = Number(a.margin);
const suffix = a.tag === '' ? '' : `-${a.tag}`;
const plotDir = join(outDir, 'plots', ...(a.tag === '' ? [] : [a.tag]));
const TASK_ORDER = ['RTE', 'CB', 'BoolQ', 'WiC', 'COPA', 'WSC', 'MultiRC'];
const dirs = (p: string): string[] =>
  existsSync(p)
    ? readdirSync(p, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
    : [];
const variantOrder = Object.keys(VARIANTS);
const order = (xs: string[], ref: string[]) =>
  xs.sort((p, q) => (ref.indexOf(p) + 1 || 99) - (ref.indexOf(q) + 1 || 99) || p.localeCompare(q));

interface RunConfigJson {
  readonly seed: number;
  readonly devMajority?: number;
  readonly valMajority?: number;
  readonly valSize?: number;
  readonly valLimit?: number;
  readonly steps: number;
  readonly [k: string]: unknown;
}

interface TaskResult {
  readonly devMajority: number;
  readonly valMajority: number | null;
  readonly threshold: number;
  readonly valSize: number | null;
  readonly main: string;
  readonly variants: Record<string, GroupSummary & { readonly runs: readonly RunSummary[] }>;
}

/** Majority-class rate of the (subsampled) val split, for runs whose config.json predates `valMajority`. */
async function valMajorityOf(task: string, limit: number, seed: number): Promise<number | null> {
  const t = await loadTaskData(task, resolve(a.data))();
  return E.isLeft(t) ? null : majorityRate(subsampleVal(t.right.test, limit, seed).map((e) => e.label));
}

const unfinished: string[] = [];
const results: Record<string, TaskResult> = {};
let settings: Record<string, unknown> | undefined;

for (const task of order(dirs(runsDir), TASK_ORDER)) {
  const main = task === 'CB' ? 'macroF1' : 'accuracy';
  const valMetrics = task === 'CB' ? ['accuracy', 'macroF1'] : ['accuracy'];
  let tr: TaskResult | undefined;
  for (const variant of order(dirs(join(runsDir, task)), variantOrder)) {
    const runs: RunSummary[] = [];
    for (const seedDir of dirs(join(runsDir, task, variant)).sort()) {
      const dir = join(runsDir, task, variant, seedDir);
      const cfgPath = join(dir, 'config.json');
      if (!existsSync(cfgPath)) {
        unfinished.push(relative(runsDir, dir));
        continue;
      }
      const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as RunConfigJson;
      if (cfg.devMajority === undefined) throw new Error(`${cfgPath}: no devMajority (not a grid run?)`);
      tr ??= {
        devMajority: cfg.devMajority,
        valMajority: cfg.valMajority ?? (await valMajorityOf(task, cfg.valLimit ?? 0, Number(cfg['valSeed'] ?? 0))),
        threshold: cfg.devMajority + margin,
        valSize: cfg.valSize ?? null,
        main,
        variants: {},
      };
      settings ??= Object.fromEntries(
        [
          'model',
          'steps',
          'evalEvery',
          'batchSize',
          'promptLength',
          'maxLength',
          'valLimit',
          'valSeed',
          'warmupRatio',
          'schedule',
          'clip',
          'weightDecay',
          'dropout',
          'init',
          'backend',
        ].map((k) => [k, cfg[k]]),
      );
      if (!existsSync(join(dir, 'metrics.jsonl'))) {
        unfinished.push(relative(runsDir, dir));
        continue;
      }
      const log = readMetricsLog(join(dir, 'metrics.jsonl'));
      if (E.isLeft(log)) throw new Error(log.left.message);
      const r = summarizeRun(log.right.records, { seed: cfg.seed, main, threshold: tr.threshold, valMetrics });
      if (r) runs.push(r);
      else unfinished.push(relative(runsDir, dir));
    }
    if (tr && runs.length > 0) tr.variants[variant] = { ...summarizeGroup(runs, valMetrics), runs };
  }
  if (tr) results[task] = tr;
}

const label = (v: string) => (VARIANTS as Record<string, { label: string } | undefined>)[v]?.label ?? v;
const pct = (x: number | null) => (x === null ? 'n/a' : (100 * x).toFixed(1));

// Markdown table.
const md: string[] = [
  '| task | method | seeds | val acc | val macro-F1 | best dev | dev-acc threshold | steps to threshold | never reached |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const [task, tr] of Object.entries(results)) {
  md.push(`| ${task} | majority class | – | ${pct(tr.valMajority)} | – | ${pct(tr.devMajority)} | – | – | – |`);
  for (const [v, g] of Object.entries(tr.variants)) {
    const f1 = g.val['macroF1'] ? fmt(g.val['macroF1']) : '–';
    md.push(
      `| ${task} | ${label(v)} | ${g.seeds.length} | ${fmt(g.val['accuracy'] ?? { mean: NaN, std: NaN, n: 0 })} | ${f1} | ${fmt(g.bestDev)} | ${pct(tr.threshold)} | ${g.reachStep.n === 0 ? '–' : fmt(g.reachStep, 1, false)} | ${g.neverReached}/${g.seeds.length} |`,
    );
  }
}
// Average over tasks of the mean val accuracy (DP's "+6 points average" is of this kind), and Δ to soft.
const taskNames = Object.keys(results);
const avgAcc = (v: string): number | null => {
  const xs = taskNames.map((t) => results[t]!.variants[v]?.val['accuracy']?.mean);
  return xs.every((x): x is number => x !== undefined && Number.isFinite(x)) && xs.length > 0
    ? xs.reduce((p, q) => p + q, 0) / xs.length
    : null;
};
const allVariants = order([...new Set(taskNames.flatMap((t) => Object.keys(results[t]!.variants)))], variantOrder);
const averages = Object.fromEntries(allVariants.map((v) => [v, avgAcc(v)]));
const softAvg = averages['soft'] ?? null;
md.push(
  '',
  `| method | mean val acc over ${taskNames.join(', ')} | Δ vs soft prompt | tasks better than soft |`,
  '| --- | ---: | ---: | ---: |',
);
for (const v of allVariants) {
  const m = averages[v] ?? null;
  const better = taskNames.filter(
    (t) =>
      (results[t]!.variants[v]?.val['accuracy']?.mean ?? -1) >
      (results[t]!.variants['soft']?.val['accuracy']?.mean ?? Infinity),
  ).length;
  md.push(
    `| ${label(v)} | ${pct(m)} | ${m === null || softAvg === null || v === 'soft' ? '–' : `${100 * (m - softAvg) >= 0 ? '+' : ''}${(100 * (m - softAvg)).toFixed(1)}`} | ${v === 'soft' ? '–' : `${better}/${taskNames.length}`} |`,
  );
}
const table = md.join('\n');

// Plots: mean dev accuracy per method, the dev majority rate dashed.
mkdirSync(plotDir, { recursive: true });
for (const [task, tr] of Object.entries(results)) {
  const series: Series[] = Object.entries(tr.variants).map(([v, g], i) => ({
    name: `${label(v)} (${g.seeds.length} seeds)`,
    points: g.meanDevAcc,
    color: PALETTE[i % PALETTE.length]!,
  }));
  const steps = series.flatMap((s) => s.points.map((p) => p[0]));
  if (steps.length > 0)
    series.push({
      name: 'dev majority class',
      points: [
        [Math.min(...steps), tr.devMajority],
        [Math.max(...steps), tr.devMajority],
      ],
      color: '#7f7f7f',
      dashed: true,
      markers: false,
    });
  writeFileSync(
    join(plotDir, `${task}.svg`),
    lineChartSvg(series, {
      title: `${task}: dev32 accuracy (mean over seeds)`,
      xLabel: 'step',
      yLabel: 'dev accuracy',
    }),
  );
}

mkdirSync(outDir, { recursive: true });
const json = {
  runs: relative(process.cwd(), runsDir),
  margin,
  settings: settings ?? null,
  unfinished,
  averageValAccuracy: averages,
  tasks: results,
};
writeFileSync(
  join(outDir, `results${suffix}.json`),
  `${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`,
);
writeFileSync(join(outDir, `results${suffix}.md`), `${table}\n`);
console.log(table);
if (unfinished.length > 0) console.log(`\nunfinished (left out): ${unfinished.join(', ')}`);
console.log(
  `\nwrote ${relative(process.cwd(), join(outDir, `results${suffix}.json`))}, results${suffix}.md, ${relative(process.cwd(), plotDir)}/<task>.svg`,
);
