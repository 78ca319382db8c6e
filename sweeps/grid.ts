/**
 * A sweep's grid file: JSON with `model`, `data` (default: the bundled FewGLUE), `tasks`, `methods`, `seeds`, optionally `valLimit` /
 * `valSeed` (the reported split subsampled, the same subset for every run), and any `train` option under
 * its camelCase `--config` key (`steps`, `evalEvery`, `backend`, `batchSize`, …) applied to every run.
 * A method is a method name (soft, prefix, dynamic, infoprompt), a named variant of experiments/variants.ts
 * (dp-pos, dp-full, …), or an object `{"name": <one of those>, <train option>: …}` with its own overrides.
 *
 * Expansion gives one run per seed × task × method (seeds outermost, so an interrupted sweep has every
 * task × method with its first seeds) with a stable id: `<task>-<method>-s<seed>-<hash>`, the hash taken
 * over the run's full configuration without `backend` and `threads` (how a run is computed, chosen by the
 * worker; a resumed run keeps the backend it started with). Re-submitting a grid gives the same ids.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { BUNDLED_FEWGLUE } from '../data/bundled.ts';
import { VARIANTS } from '../experiments/variants.ts';
import { decodePartial, mergeConfig, METHODS, taskList, type RunConfig } from '../training/run-config.ts';
import { UsageError } from '../training/usage-error.ts';

export interface GridMethod {
  /** The name runs are grouped and reported by. */
  readonly name: string;
  /** Variant config and its learning rate, then the entry's own overrides. */
  readonly layers: readonly Partial<RunConfig>[];
}

export interface Grid {
  readonly model: string;
  readonly data: string;
  readonly tasks: readonly string[];
  readonly methods: readonly GridMethod[];
  readonly seeds: readonly number[];
  readonly valLimit: number;
  readonly valSeed: number;
  /** Train options applied to every run. */
  readonly train: Partial<RunConfig>;
}

/** What a run adds to its config.json beyond the RunConfig (the report groups by `variant`). */
export interface RunExtra {
  readonly runId: string;
  readonly variant: string;
  readonly valLimit: number;
  readonly valSeed: number;
}

export interface SweepRun {
  readonly id: string;
  readonly config: RunConfig;
  readonly extra: RunExtra;
}

const GRID_KEYS = ['model', 'data', 'tasks', 'methods', 'seeds', 'valLimit', 'valSeed'] as const;
const PER_RUN = ['task', 'method', 'seed'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One method entry: a variant or method name, or `{name, ...overrides}`. */
function decodeMethod(entry: unknown, where: string): GridMethod {
  const [name, overrides] = isRecord(entry)
    ? [entry['name'], Object.fromEntries(Object.entries(entry).filter(([k]) => k !== 'name'))]
    : [entry, {}];
  const known = `variants ${Object.keys(VARIANTS).join(', ')}; methods ${METHODS.join(', ')}`;
  if (typeof name !== 'string')
    throw new UsageError(`${where}: expected a method name or {"name": …}, got ${JSON.stringify(entry)}`);
  const own = decodePartial(overrides, where);
  if (E.isLeft(own)) throw new UsageError(own.left.message);
  for (const k of PER_RUN)
    if (k in own.right) throw new UsageError(`${where}: "${k}" is set by the grid's tasks/methods/seeds`);
  const variant = (VARIANTS as Record<string, { lr: number; config: Partial<RunConfig> } | undefined>)[name];
  if (variant) return { name, layers: [variant.config, { lr: variant.lr }, own.right] };
  if ((METHODS as readonly string[]).includes(name))
    return { name, layers: [{ method: name as RunConfig['method'] }, own.right] };
  throw new UsageError(`${where}: unknown method "${name}" (${known})`);
}

function list<A>(v: unknown, where: string, item: (x: unknown, at: string) => A): readonly A[] {
  if (!Array.isArray(v) || v.length === 0) throw new UsageError(`${where}: expected a non-empty list`);
  return v.map((x, i) => item(x, `${where}[${i}]`));
}

const str = (x: unknown, at: string): string => {
  if (typeof x !== 'string' || x === '') throw new UsageError(`${at}: expected a non-empty string`);
  return x;
};
const int = (x: unknown, at: string): number => {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0)
    throw new UsageError(`${at}: expected an integer ≥ 0, got ${JSON.stringify(x)}`);
  return x;
};

/** Checks a parsed grid; `source` names the file in errors, `base` resolves relative model/data paths. */
export function decodeGrid(raw: unknown, source: string, base: string): Grid {
  if (!isRecord(raw)) throw new UsageError(`${source}: expected a JSON object`);
  const trainRaw = Object.fromEntries(
    Object.entries(raw).filter(([k]) => !(GRID_KEYS as readonly string[]).includes(k)),
  );
  for (const k of PER_RUN)
    if (k in trainRaw)
      throw new UsageError(
        `${source}: field "${k}": a grid lists ${k}s under "${k === 'method' ? 'methods' : `${k}s`}"`,
      );
  const train = decodePartial(trainRaw, source);
  if (E.isLeft(train)) throw new UsageError(train.left.message);
  const methods = list(raw['methods'], `${source}: field "methods"`, decodeMethod);
  const names = methods.map((m) => m.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new UsageError(`${source}: field "methods": "${twice}" is listed twice`);
  const tasks = list(raw['tasks'], `${source}: field "tasks"`, str);
  // A sweep run trains one task (run-one.ts builds a single-task model); refused here, not at each run.
  const several = tasks.find((task) => taskList({ task }).length > 1);
  if (several !== undefined)
    throw new UsageError(
      `${source}: field "tasks": "${several}" is a multitask run, which sweeps do not run: list its tasks one by one, or train it with promptgrad train --task ${several}`,
    );
  const seeds = list(raw['seeds'], `${source}: field "seeds"`, int);
  return {
    model: resolve(base, str(raw['model'], `${source}: field "model"`)),
    data: raw['data'] === undefined ? BUNDLED_FEWGLUE : resolve(base, str(raw['data'], `${source}: field "data"`)),
    tasks: [...new Set(tasks)],
    methods,
    seeds: [...new Set(seeds)],
    valLimit: raw['valLimit'] === undefined ? 0 : int(raw['valLimit'], `${source}: field "valLimit"`),
    valSeed: raw['valSeed'] === undefined ? 1234 : int(raw['valSeed'], `${source}: field "valSeed"`),
    train: train.right,
  };
}

/** Reads and checks a grid file; relative paths in it are relative to the file's folder. */
export function readGridFile(path: string): Grid {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--grid ${path}: cannot read (${e instanceof Error ? e.message : String(e)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--grid ${path}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return decodeGrid(json, path, dirname(resolve(path)));
}

/** JSON with object keys sorted, so the hash does not depend on the order options were written in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isRecord(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** The id of a run: readable prefix plus a hash of everything that decides its results. */
export function runId(config: RunConfig, variant: string, valLimit: number, valSeed: number): string {
  const { backend: _b, threads: _t, ...decisive } = config;
  const hash = createHash('sha256')
    .update(canonical({ ...decisive, variant, valLimit, valSeed }))
    .digest('hex')
    .slice(0, 10);
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');
  return `${safe(config.task)}-${safe(variant)}-s${config.seed}-${hash}`;
}

/** Every run of the grid, seeds outermost. */
export function expandGrid(g: Grid): readonly SweepRun[] {
  return g.seeds.flatMap((seed) =>
    g.tasks.flatMap((task) =>
      g.methods.map((m) => {
        const merged = mergeConfig(
          [...m.layers.slice(0, -1), g.train, m.layers.at(-1) ?? {}, { model: g.model, data: g.data, task, seed }],
          `grid run ${task}/${m.name}/seed ${seed}`,
        );
        if (E.isLeft(merged)) throw new UsageError(merged.left.message);
        const id = runId(merged.right, m.name, g.valLimit, g.valSeed);
        return {
          id,
          config: merged.right,
          extra: { runId: id, variant: m.name, valLimit: g.valLimit, valSeed: g.valSeed },
        };
      }),
    ),
  );
}
