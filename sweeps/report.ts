/**
 * The report of a sweep (or of the experiment grid): every run folder under `runs` (at any depth up to
 * three: `<runs>/<run-id>/` for sweeps, `<runs>/<task>/<variant>/seed-<n>/` for the older grid layout)
 * grouped by task × method (config.json's `task` and `variant`) into the table of EXPERIMENTS.md (val
 * mean ± std over seeds, best dev, steps to the dev-accuracy threshold) and one SVG per task (mean dev
 * accuracy per method, the dev majority-class rate dashed). Unfinished runs are listed and left out.
 *
 * Steps-to-threshold: the first dev evaluation with accuracy ≥ dev majority-class rate + `margin`;
 * seeds that never get there are counted, not averaged.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { readMetricsLog } from '../training/log.ts';
import { lineChartSvg, PALETTE, type Series } from '../training/plot.ts';
import { loadTaskData } from '../training/task-data.ts';
import { UsageError } from '../training/usage-error.ts';
import { fmt, summarizeGroup, summarizeRun, type GroupSummary, type RunSummary } from '../experiments/summary.ts';
import { majorityRate, subsampleVal, VARIANTS } from '../experiments/variants.ts';

const TASK_ORDER = ['RTE', 'CB', 'BoolQ', 'WiC', 'COPA', 'WSC', 'MultiRC'];
const VARIANT_ORDER = Object.keys(VARIANTS);
const SETTINGS = [
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
] as const;

interface RunConfigJson {
  readonly task: string;
  readonly variant?: string;
  readonly seed: number;
  readonly devMajority?: number;
  readonly valMajority?: number;
  readonly valSize?: number;
  readonly valLimit?: number;
  readonly [k: string]: unknown;
}

export interface TaskResult {
  readonly devMajority: number;
  readonly valMajority: number | null;
  readonly threshold: number;
  readonly valSize: number | null;
  readonly main: string;
  readonly variants: Record<string, GroupSummary & { readonly runs: readonly RunSummary[] }>;
}

export interface Report {
  readonly json: Readonly<Record<string, unknown>>;
  readonly markdown: string;
  readonly plots: readonly (readonly [task: string, svg: string])[];
  readonly unfinished: readonly string[];
}

const order = (xs: string[], ref: readonly string[]) =>
  xs.sort((p, q) => (ref.indexOf(p) + 1 || 99) - (ref.indexOf(q) + 1 || 99) || p.localeCompare(q));
const label = (v: string) => (VARIANTS as Record<string, { label: string } | undefined>)[v]?.label ?? v;
const pct = (x: number | null) => (x === null ? 'n/a' : (100 * x).toFixed(1));

/** Folders holding a config.json, up to `depth` levels below `dir`. */
function runFolders(dir: string, depth: number): string[] {
  if (existsSync(join(dir, 'config.json'))) return [dir];
  if (depth === 0 || !existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'checkpoint' && !d.name.startsWith('checkpoint.'))
    .flatMap((d) => runFolders(join(dir, d.name), depth - 1))
    .sort();
}

/** Majority-class rate of the (subsampled) val split, for runs whose config.json predates `valMajority`. */
async function valMajorityOf(task: string, data: unknown, limit: number, seed: number): Promise<number | null> {
  if (typeof data !== 'string') return null;
  const t = await loadTaskData(task, data)();
  return E.isLeft(t) ? null : majorityRate(subsampleVal(t.right.test, limit, seed).map((e) => e.label));
}

export async function buildReport(runsDir: string, o: { readonly margin: number }): Promise<Report> {
  const root = resolve(runsDir);
  if (!existsSync(root)) throw new UsageError(`--runs ${runsDir}: no such folder`);
  const unfinished: string[] = [];
  const byTask = new Map<string, Map<string, { dir: string; cfg: RunConfigJson }[]>>();
  for (const dir of runFolders(root, 3)) {
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as RunConfigJson;
    const variant = cfg.variant ?? (typeof cfg['method'] === 'string' ? cfg['method'] : '?');
    const group = byTask.get(cfg.task) ?? new Map<string, { dir: string; cfg: RunConfigJson }[]>();
    group.set(variant, [...(group.get(variant) ?? []), { dir, cfg }]);
    byTask.set(cfg.task, group);
  }
  const results: Record<string, TaskResult> = {};
  let settings: Record<string, unknown> | undefined;
  for (const task of order([...byTask.keys()], TASK_ORDER)) {
    const main = task === 'CB' ? 'macroF1' : 'accuracy';
    const valMetrics = task === 'CB' ? ['accuracy', 'macroF1'] : ['accuracy'];
    const group = byTask.get(task)!;
    let tr: TaskResult | undefined;
    for (const variant of order([...group.keys()], VARIANT_ORDER)) {
      const runs: RunSummary[] = [];
      for (const { dir, cfg } of group.get(variant)!.sort((p, q) => p.cfg.seed - q.cfg.seed)) {
        if (cfg.devMajority === undefined)
          throw new UsageError(`${join(dir, 'config.json')}: no devMajority (not a sweep or grid run?)`);
        tr ??= {
          devMajority: cfg.devMajority,
          valMajority:
            cfg.valMajority ?? (await valMajorityOf(task, cfg['data'], cfg.valLimit ?? 0, Number(cfg['valSeed'] ?? 0))),
          threshold: cfg.devMajority + o.margin,
          valSize: cfg.valSize ?? null,
          main,
          variants: {},
        };
        // the model as a path relative to here: reports are committed, machine paths are not
        settings ??= Object.fromEntries(
          SETTINGS.map((k) => [
            k,
            k === 'model' && typeof cfg[k] === 'string' ? relative(process.cwd(), cfg[k]) : cfg[k],
          ]),
        );
        const r = existsSync(join(dir, 'metrics.jsonl')) ? readMetricsLog(join(dir, 'metrics.jsonl')) : undefined;
        if (r && E.isLeft(r)) throw new UsageError(r.left.message);
        const s = r && summarizeRun(r.right.records, { seed: cfg.seed, main, threshold: tr.threshold, valMetrics });
        if (s) runs.push(s);
        else unfinished.push(relative(root, dir));
      }
      if (tr && runs.length > 0) tr.variants[variant] = { ...summarizeGroup(runs, valMetrics), runs };
    }
    if (tr) results[task] = tr;
  }
  const averages = averageAccuracies(results);
  return {
    json: {
      runs: relative(process.cwd(), root),
      margin: o.margin,
      settings: settings ?? null,
      unfinished,
      averageValAccuracy: averages,
      tasks: results,
    },
    markdown: table(results, averages),
    plots: plots(results),
    unfinished,
  };
}

function averageAccuracies(results: Record<string, TaskResult>): Record<string, number | null> {
  const tasks = Object.keys(results);
  const variants = order([...new Set(tasks.flatMap((t) => Object.keys(results[t]!.variants)))], VARIANT_ORDER);
  const avg = (v: string): number | null => {
    const xs = tasks.map((t) => results[t]!.variants[v]?.val['accuracy']?.mean);
    return xs.every((x): x is number => x !== undefined && Number.isFinite(x)) && xs.length > 0
      ? xs.reduce((p, q) => p + q, 0) / xs.length
      : null;
  };
  return Object.fromEntries(variants.map((v) => [v, avg(v)]));
}

function table(results: Record<string, TaskResult>, averages: Record<string, number | null>): string {
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
  const tasks = Object.keys(results);
  const softAvg = averages['soft'] ?? null;
  md.push(
    '',
    `| method | mean val acc over ${tasks.join(', ')} | Δ vs soft prompt | tasks better than soft |`,
    '| --- | ---: | ---: | ---: |',
  );
  for (const [v, m] of Object.entries(averages)) {
    const better = tasks.filter(
      (t) =>
        (results[t]!.variants[v]?.val['accuracy']?.mean ?? -1) >
        (results[t]!.variants['soft']?.val['accuracy']?.mean ?? Infinity),
    ).length;
    const delta =
      m === null || softAvg === null || v === 'soft'
        ? '–'
        : `${100 * (m - softAvg) >= 0 ? '+' : ''}${(100 * (m - softAvg)).toFixed(1)}`;
    md.push(`| ${label(v)} | ${pct(m)} | ${delta} | ${v === 'soft' ? '–' : `${better}/${tasks.length}`} |`);
  }
  return md.join('\n');
}

function plots(results: Record<string, TaskResult>): [string, string][] {
  return Object.entries(results).flatMap(([task, tr]): [string, string][] => {
    const series: Series[] = Object.entries(tr.variants).map(([v, g], i) => ({
      name: `${label(v)} (${g.seeds.length} seeds)`,
      points: g.meanDevAcc,
      color: PALETTE[i % PALETTE.length]!,
    }));
    const steps = series.flatMap((s) => s.points.map((p) => p[0]));
    if (steps.length === 0) return [];
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
    const svg = lineChartSvg(series, {
      title: `${task}: dev32 accuracy (mean over seeds)`,
      xLabel: 'step',
      yLabel: 'dev accuracy',
    });
    return [[task, svg]];
  });
}

/** `<out>/results<suffix>.json`, `<out>/results<suffix>.md` and `<plotDir>/<task>.svg`. */
export function writeReport(r: Report, out: string, plotDir: string, suffix = ''): readonly string[] {
  mkdirSync(out, { recursive: true });
  mkdirSync(plotDir, { recursive: true });
  const files = [join(out, `results${suffix}.json`), join(out, `results${suffix}.md`)];
  writeFileSync(
    files[0]!,
    `${JSON.stringify(r.json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`,
  );
  writeFileSync(files[1]!, `${r.markdown}\n`);
  for (const [task, svg] of r.plots) {
    const f = join(plotDir, `${task}.svg`);
    writeFileSync(f, svg);
    files.push(f);
  }
  return files;
}
