/**
 * The effective configuration of a training run: defaults ← JSON config file ← command-line flags.
 * Every value is checked here with the field (and file) named, so the loop only sees valid numbers.
 * The result is what `config.json` in the run folder holds, and what `eval` / `predict` / `resume` rebuild from.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { BUNDLED_FEWGLUE } from '../data/bundled.ts';
import { canonicalTaskName, isTaskName } from '../data/tasks/types.ts';
import { WEIGHT_STORAGES, type WeightStorage } from '../models/bert/modules.ts';

export const METHODS = ['soft', 'prefix', 'dynamic', 'infoprompt'] as const;
export type MethodName = (typeof METHODS)[number];
export const HEADS = ['classifier', 'verbalizer'] as const;
export type HeadName = (typeof HEADS)[number];
export const SCHEDULES = ['linear', 'cosine', 'constant'] as const;
export const BACKENDS = ['cpu', 'wasm', 'webgpu', 'auto'] as const;
export const SEGMENT_IDS = ['pair', 'single'] as const;
export const CHOICE_LEVELS = ['none', 'task', 'instance'] as const;
export const SHARES = ['none', 'prompt', 'pool'] as const;
export type ShareName = (typeof SHARES)[number];
export type ChoiceLevelOption = (typeof CHOICE_LEVELS)[number];

export interface RunConfig {
  /** Hugging Face model folder (config.json + weights + tokenizer files). */
  readonly model: string;
  /** FewGLUE task name, or `custom` (text / text_pair / label JSONL files); a comma list of FewGLUE tasks = one multitask run. */
  readonly task: string;
  /** Data root: `<data>/<Task>/{train,dev32,val}.jsonl` (FewGLUE) or `<data>/{train,dev32,val}.jsonl` (custom). */
  readonly data: string;
  readonly method: MethodName;
  readonly head: HeadName;
  /** Virtual tokens m. */
  readonly promptLength: number;
  /** Prefix reparameterisation MLP hidden size (0 = none). */
  readonly prefixProjection: number;
  readonly init: 'random' | 'vocab' | 'text';
  readonly initText: string;
  readonly placement: 'before-cls' | 'after-cls';
  /** Dynamic prompting (docs/methods.md §3): each choice off, per task or per instance. */
  readonly dynamicPosition: ChoiceLevelOption;
  readonly dynamicLength: ChoiceLevelOption;
  /** Dynamic: prompt pool size k (0 = no pool). */
  readonly poolSize: number;
  /** Dynamic: instance-level choice nets Linear → ReLU (DPT's code) instead of plain Linear. */
  readonly instanceRelu: boolean;
  /** Dynamic: Gumbel-softmax temperature τ₀, floor and anneal rate (see prompting/gumbel.ts). */
  readonly gumbelTauStart: number;
  readonly gumbelTauMin: number;
  readonly gumbelRate: number;
  /** InfoPrompt (docs/methods.md §4): weights of L_head, L_rep and the bottleneck KL. */
  readonly gamma: number;
  readonly beta: number;
  readonly klWeight: number;
  /** InfoPrompt: per-example task-loss cap (code: 2; 0 = none, plain cross-entropy). */
  readonly lossCap: number;
  /** InfoPrompt: prompt generator MLP hidden size (code: 32; 0 = a plain learned prompt). */
  readonly generatorHidden: number;
  /** InfoPrompt: Gaussian bottleneck size of L_rep. */
  readonly bottleneckDim: number;
  readonly steps: number;
  readonly batchSize: number;
  /** Micro-batches of `batchSize` whose gradients accumulate (example-weighted) into each optimiser step. */
  readonly gradAccum: number;
  readonly evalBatchSize: number;
  readonly maxLength: number;
  readonly lr: number;
  readonly weightDecay: number;
  readonly warmupRatio: number;
  readonly schedule: (typeof SCHEDULES)[number];
  /** Global-norm clip (0 = off). */
  readonly clip: number;
  /**
   * Train-mode dropout in the frozen encoder and the classifier: false (or 0) off; true at the
   * checkpoint's own rates (config.json's hidden, attention and classifier dropout); p in (0, 1) as the
   * rate of all three. Default per method (DROPOUT_DEFAULTS, reasons in docs/methods.md).
   */
  readonly dropout: boolean | number;
  readonly evalEvery: number;
  /** Stop after this many dev evaluations in a row without a better main metric (0 = never). */
  readonly earlyStopPatience: number;
  /** 0 = only at the end. */
  readonly checkpointEvery: number;
  readonly seed: number;
  readonly backend: (typeof BACKENDS)[number];
  /** Worker threads of the wasm backend (0 = one per core). */
  readonly threads: number;
  readonly dtype: 'f32' | 'f64';
  /**
   * Storage of the frozen encoder's dense weights: f32, f16 (halves) or int8 (7-bit codes per output
   * channel, integer products: core/tensor/int8.ts); f16 and int8 need dtype f32.
   */
  readonly weights: WeightStorage;
  /**
   * Token type ids of a text pair: `pair` gives the second segment type 1 (BERT's convention);
   * `single` gives every token type 0, for encoders whose type-1 embedding was never trained.
   */
  readonly segmentIds: (typeof SEGMENT_IDS)[number];
  /** Multitask: which task each step trains on, `proportional | uniform | temperature:T` (training/multitask/mixing.ts). */
  readonly mix: string;
  /** Multitask: what the tasks share, `none | prompt | pool` (training/multitask/sharing.ts). */
  readonly share: ShareName;
}

/**
 * Dropout by method (docs/methods.md, "Dropout"): off for soft prompts, dynamic prompting and InfoPrompt,
 * whose papers set no dropout (their code only inherits the encoder's train mode), so training is
 * deterministic given the seed's batches; on at the checkpoint's rates for prefix tuning, whose P-tuning v2
 * scripts pass dropout 0.1 as a tuned hyperparameter on every task.
 */
export const DROPOUT_DEFAULTS: Readonly<Record<MethodName, boolean>> = {
  soft: false,
  prefix: true,
  dynamic: false,
  infoprompt: false,
};

export const DEFAULTS: Omit<RunConfig, 'model' | 'task' | 'data' | 'method' | 'dropout'> = {
  head: 'classifier',
  promptLength: 8,
  prefixProjection: 0,
  init: 'vocab',
  initText: '',
  placement: 'before-cls',
  dynamicPosition: 'task',
  dynamicLength: 'none',
  poolSize: 0,
  instanceRelu: false,
  gumbelTauStart: 1,
  gumbelTauMin: 0.5,
  gumbelRate: 3e-5,
  gamma: 0.1,
  beta: 0.2,
  klWeight: 0.1,
  lossCap: 0,
  generatorHidden: 0,
  bottleneckDim: 32,
  steps: 100,
  batchSize: 8,
  gradAccum: 1,
  evalBatchSize: 32,
  maxLength: 128,
  lr: 3e-3,
  weightDecay: 0.01,
  warmupRatio: 0.06,
  schedule: 'linear',
  clip: 1,
  evalEvery: 20,
  earlyStopPatience: 0,
  checkpointEvery: 50,
  seed: 42,
  backend: 'auto',
  threads: 0,
  dtype: 'f32',
  weights: 'f32',
  segmentIds: 'pair',
  mix: 'proportional',
  share: 'none',
};

export interface ConfigError {
  readonly _tag: 'ConfigError';
  /** Where the value came from: a file path or `--flag`. */
  readonly source: string;
  readonly field: string;
  /** What is wrong with the value, without where it came from. */
  readonly detail: string;
  readonly message: string;
}

export const configError = (source: string, field: string, detail: string): ConfigError => ({
  _tag: 'ConfigError',
  source,
  field,
  detail,
  message: `${source}: field "${field}": ${detail}`,
});

/** What a config field holds: a string, a boolean, an integer ≥ 0 or ≥ 1, a finite number, a dropout (rate or true/false), or one of a list. */
export type ConfigKind = 'string' | 'bool' | 'int' | 'posint' | 'num' | 'dropout' | readonly string[];
type Kind = ConfigKind;

export const CONFIG_KINDS: { readonly [K in keyof RunConfig]: Kind } = {
  model: 'string',
  task: 'string',
  data: 'string',
  method: METHODS,
  head: HEADS,
  promptLength: 'posint',
  prefixProjection: 'int',
  init: ['random', 'vocab', 'text'],
  initText: 'string',
  placement: ['before-cls', 'after-cls'],
  dynamicPosition: CHOICE_LEVELS,
  dynamicLength: CHOICE_LEVELS,
  poolSize: 'int',
  instanceRelu: 'bool',
  gumbelTauStart: 'num',
  gumbelTauMin: 'num',
  gumbelRate: 'num',
  gamma: 'num',
  beta: 'num',
  klWeight: 'num',
  lossCap: 'num',
  generatorHidden: 'int',
  bottleneckDim: 'posint',
  steps: 'posint',
  batchSize: 'posint',
  gradAccum: 'posint',
  evalBatchSize: 'posint',
  maxLength: 'posint',
  lr: 'num',
  weightDecay: 'num',
  warmupRatio: 'num',
  schedule: SCHEDULES,
  clip: 'num',
  dropout: 'dropout',
  evalEvery: 'posint',
  earlyStopPatience: 'int',
  checkpointEvery: 'int',
  seed: 'int',
  backend: BACKENDS,
  threads: 'int',
  dtype: ['f32', 'f64'],
  weights: WEIGHT_STORAGES,
  segmentIds: SEGMENT_IDS,
  mix: 'string',
  share: SHARES,
};

export const CONFIG_FIELDS = Object.keys(CONFIG_KINDS) as (keyof RunConfig)[];

/** A config field's command-line flag: `segmentIds` → `--segment-ids`. */
export const kebab = (s: string): string => `--${s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Coerces one value (strings from the command line are parsed) or says why it cannot. */
function coerce(kind: Kind, v: unknown): Either<string, unknown> {
  const num = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (Array.isArray(kind)) {
    return typeof v === 'string' && kind.includes(v)
      ? E.right(v)
      : E.left(`must be one of ${kind.join(', ')}, got ${JSON.stringify(v)}`);
  }
  switch (kind) {
    case 'string':
      return typeof v === 'string' ? E.right(v) : E.left(`must be a string, got ${JSON.stringify(v)}`);
    case 'bool':
      if (typeof v === 'boolean') return E.right(v);
      if (v === 'true' || v === 'false') return E.right(v === 'true');
      return E.left(`must be true or false, got ${JSON.stringify(v)}`);
    case 'num':
      return typeof num === 'number' && Number.isFinite(num)
        ? E.right(num)
        : E.left(`must be a finite number, got ${JSON.stringify(v)}`);
    case 'int':
      return typeof num === 'number' && Number.isSafeInteger(num) && num >= 0
        ? E.right(num)
        : E.left(`must be an integer ≥ 0, got ${JSON.stringify(v)}`);
    case 'dropout':
      if (typeof v === 'boolean') return E.right(v);
      if (v === 'true' || v === 'false') return E.right(v === 'true');
      return typeof num === 'number' && num >= 0 && num < 1
        ? E.right(num)
        : E.left(
            `must be a probability in [0, 1) (0 = off), true (the checkpoint's own rates) or false, got ${JSON.stringify(v)}`,
          );
    case 'posint':
      return typeof num === 'number' && Number.isSafeInteger(num) && num > 0
        ? E.right(num)
        : E.left(`must be an integer ≥ 1, got ${JSON.stringify(v)}`);
  }
  return E.left('unknown kind');
}

/** Checks a partial config object from one source (file or flags); unknown fields are errors. */
export function decodePartial(
  raw: unknown,
  source: string,
  flagName: (f: string) => string = (f) => f,
): Either<ConfigError, Partial<RunConfig>> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return E.left(configError(source, '(root)', 'must be a JSON object'));
  const out: Record<string, unknown> = {};
  const tasks = (raw as Record<string, unknown>)['tasks'];
  if (tasks !== undefined) {
    if (!Array.isArray(tasks) || tasks.length === 0 || !tasks.every((x) => typeof x === 'string'))
      return E.left(configError(source, flagName('tasks'), 'must be a non-empty list of task names'));
    if ((raw as Record<string, unknown>)['task'] !== undefined)
      return E.left(configError(source, flagName('tasks'), 'give either "task" or "tasks", not both'));
    out['task'] = tasks.join(',');
  }
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'tasks') continue;
    if (v === undefined) continue;
    const kind = (CONFIG_KINDS as Record<string, Kind | undefined>)[k];
    if (!kind) return E.left(configError(source, flagName(k), `unknown option (known: ${CONFIG_FIELDS.join(', ')})`));
    const c = coerce(kind, v);
    if (E.isLeft(c)) return E.left(configError(source, flagName(k), c.left));
    out[k] = c.right;
  }
  return E.right(out);
}

/** Cross-field and range checks on the merged config. */
export function validateConfig(c: RunConfig, source: string): Either<ConfigError, RunConfig> {
  const bad = (field: keyof RunConfig, why: string) => E.left(configError(source, field, why));
  if (c.model === '') return bad('model', 'is required (a Hugging Face model folder)');
  if (c.task === '') return bad('task', 'is required');
  if (c.data === '') return bad('data', 'is required for a custom task (the folder with train/dev32/val JSONL)');
  if (!(c.lr > 0)) return bad('lr', `must be > 0, got ${c.lr}`);
  if (c.weightDecay < 0) return bad('weightDecay', `must be ≥ 0, got ${c.weightDecay}`);
  if (c.warmupRatio < 0 || c.warmupRatio > 1) return bad('warmupRatio', `must be in [0, 1], got ${c.warmupRatio}`);
  if (c.clip < 0) return bad('clip', `must be ≥ 0 (0 = off), got ${c.clip}`);
  if (c.init === 'text' && c.initText === '') return bad('initText', 'is required with init "text"');
  if (c.method === 'prefix' && c.head === 'verbalizer' && c.placement !== 'before-cls')
    return bad('placement', 'only applies to soft prompts');
  if (c.maxLength < 4) return bad('maxLength', `must be ≥ 4, got ${c.maxLength}`);
  if (!(c.gumbelTauStart > 0)) return bad('gumbelTauStart', `must be > 0, got ${c.gumbelTauStart}`);
  if (!(c.gumbelTauMin > 0)) return bad('gumbelTauMin', `must be > 0, got ${c.gumbelTauMin}`);
  if (c.gumbelRate < 0) return bad('gumbelRate', `must be ≥ 0, got ${c.gumbelRate}`);
  if (c.lossCap < 0) return bad('lossCap', `must be ≥ 0 (0 = no cap), got ${c.lossCap}`);
  if (c.method === 'infoprompt' && c.head !== 'classifier')
    return bad('head', 'infoprompt needs the classifier head (L_head reads its weights)');
  return validateMultitask(c, source);
}

/** The tasks of a run: one, or the comma list of a multitask run. */
export const taskList = (c: Pick<RunConfig, 'task'>): readonly string[] => c.task.split(',').map((t) => t.trim());

/** `mix` and `share` belong to multitask runs; a multitask run lists distinct FewGLUE tasks. */
function validateMultitask(c: RunConfig, source: string): Either<ConfigError, RunConfig> {
  const bad = (field: keyof RunConfig, why: string) => E.left(configError(source, field, why));
  const tasks = taskList(c);
  const mix = parseMix(c.mix);
  if (E.isLeft(mix)) return bad('mix', mix.left);
  if (tasks.length > 1 && c.gradAccum > 1)
    return bad('gradAccum', 'applies to single-task runs (a multitask step trains one drawn task on one batch)');
  if (tasks.length > 1 && c.earlyStopPatience > 0)
    return bad('earlyStopPatience', 'applies to single-task runs (multitask runs keep the best dev average, no stop)');
  if (tasks.length === 1) {
    if (c.share !== 'none') return bad('share', 'applies only to a multitask run (--task A,B,…)');
    return E.right(c);
  }
  if (tasks.some((t) => t === '' || t === 'custom'))
    return bad('task', `a multitask run lists FewGLUE tasks separated by commas (no "custom"), got "${c.task}"`);
  const dup = tasks.find((t, i) => tasks.indexOf(t) !== i);
  if (dup !== undefined) return bad('task', `lists "${dup}" twice`);
  if (c.share === 'pool' && !(c.method === 'dynamic' && c.poolSize > 0))
    return bad(
      'share',
      '"pool" shares the prompt pool of dynamic prompting: needs --method dynamic and --pool-size k > 0',
    );
  return E.right({ ...c, task: tasks.join(',') });
}

export type MixRule =
  | { readonly kind: 'proportional' }
  | { readonly kind: 'uniform' }
  | { readonly kind: 'temperature'; readonly temperature: number };

/** `proportional | uniform | temperature:T` (T > 0) → the mixing rule, or why not. */
export function parseMix(s: string): Either<string, MixRule> {
  if (s === 'proportional' || s === 'uniform') return E.right({ kind: s });
  const m = /^temperature:(.+)$/.exec(s);
  const t = m ? Number(m[1]) : NaN;
  if (m && Number.isFinite(t) && t > 0) return E.right({ kind: 'temperature', temperature: t });
  return E.left(`must be proportional, uniform or temperature:T with T > 0, got ${JSON.stringify(s)}`);
}

/** defaults ← each layer in order (later wins) → validated RunConfig. */
export function mergeConfig(layers: readonly Partial<RunConfig>[], source = 'config'): Either<ConfigError, RunConfig> {
  const given = Object.assign({ model: '', task: '', data: '', method: 'soft' }, DEFAULTS, ...layers) as Omit<
    RunConfig,
    'dropout'
  > &
    Partial<Pick<RunConfig, 'dropout'>>;
  const merged: RunConfig = {
    ...given,
    dropout: given.dropout ?? DROPOUT_DEFAULTS[given.method] ?? false,
  };
  const tasks = taskList(merged).map(canonicalTaskName);
  const task = tasks.join(',');
  // FewGLUE tasks without --data read the copy bundled with PromptGrad; an explicit --data wins.
  const data = merged.data === '' && tasks.every(isTaskName) ? BUNDLED_FEWGLUE : merged.data;
  return validateConfig({ ...merged, task, data }, source);
}

/** Warm-up steps from the ratio (HF's ceil(ratio · total)). */
export const warmupSteps = (c: RunConfig): number => Math.ceil(c.warmupRatio * c.steps);
