/**
 * The run options as commander Options: one definition of each flag, its help and its parser, shared by
 * `train` (every option), `eval` / `predict` (where and how they run: --backend, --threads, --batch-size,
 * and the adapter path's --dtype, --max-length) and `sweep` / `worker`. Enumerated values use commander's
 * `.choices()`; numbers and booleans a parser with the same rule as a --config file's field
 * (training/run-config.ts). A bad value is reported by reportError (main.ts) as `--flag value: why`.
 */
import { InvalidArgumentError, Option } from 'commander';
import {
  CONFIG_KINDS,
  DEFAULTS,
  kebab,
  type ConfigError,
  type ConfigKind,
  type RunConfig,
} from '../training/run-config.ts';
import { UsageError } from '../training/usage-error.ts';

/** `--flag <arg>` and its help, per config field (the defaults are added from DEFAULTS). */
export const FLAGS: readonly (readonly [keyof RunConfig, string, string])[] = [
  ['model', '<folder>', 'Hugging Face model folder (config.json, weights, tokenizer files)'],
  [
    'task',
    '<name>',
    'FewGLUE task (BoolQ, CB, COPA, MultiRC, RTE, WiC, WSC; any case) or "custom" (text/text_pair/label JSONL); a comma list (RTE,CB,BoolQ) trains one multitask run ("tasks": [...] in --config)',
  ],
  [
    'data',
    '<folder>',
    'data root: <data>/<Task>/{train,dev32,val}.jsonl, or <data>/{train,dev32,val}.jsonl for custom (default for a FewGLUE task: the FewGLUE copy bundled with PromptGrad)',
  ],
  ['method', '<method>', 'prompt method'],
  ['head', '<head>', 'classification head (verbalizer needs an MLM checkpoint)'],
  ['promptLength', '<m>', 'virtual tokens'],
  ['prefixProjection', '<h>', 'prefix: reparameterisation MLP hidden size (0 = none)'],
  ['init', '<how>', 'soft prompt init'],
  ['initText', '<text>', 'text for --init text'],
  ['placement', '<where>', 'soft prompt: where the virtual tokens go'],
  ['dynamicPosition', '<level>', 'dynamic: where the prompt splits around the text, chosen per task or per instance'],
  ['dynamicLength', '<level>', 'dynamic: prompt length (masking the rest), chosen per task or per instance'],
  ['poolSize', '<k>', 'dynamic: prompt pool of k sets mixed per input (0 = no pool)'],
  ['instanceRelu', '<bool>', "dynamic: instance-level choice nets Linear → ReLU (DPT's code) instead of Linear"],
  ['gumbelTauStart', '<x>', 'dynamic: Gumbel-softmax temperature at step 0'],
  ['gumbelTauMin', '<x>', 'dynamic: temperature floor'],
  ['gumbelRate', '<x>', 'dynamic: temperature anneal rate r (τ = max(τ₀·exp(−r·n(n+1)/2), τ_min), n = ⌊step/10⌋)'],
  ['gamma', '<x>', 'infoprompt: weight of L_head (prompt ↔ head MI)'],
  ['beta', '<x>', 'infoprompt: weight of L_rep (prompt ↔ representation MI)'],
  ['klWeight', '<x>', "infoprompt: weight of L_rep's bottleneck KL"],
  ['lossCap', '<x>', "infoprompt: cap each example's task loss (the code: 2; 0 = plain cross-entropy)"],
  [
    'generatorHidden',
    '<h>',
    'infoprompt: generate the prompt per input with an MLP d → h → m·d (the code: 32; 0 = plain prompt, PEFT-exportable)',
  ],
  ['bottleneckDim', '<k>', "infoprompt: L_rep's Gaussian bottleneck size"],
  ['steps', '<n>', 'optimiser steps'],
  ['batchSize', '<n>', 'training batch size (of each micro-batch with --grad-accum)'],
  [
    'gradAccum',
    '<n>',
    'gradient accumulation: n micro-batches of --batch-size per optimiser step, their gradients averaged by examples (--steps counts optimiser steps)',
  ],
  ['evalBatchSize', '<n>', 'evaluation batch size'],
  ['maxLength', '<n>', 'max text tokens per example'],
  ['lr', '<x>', 'AdamW learning rate'],
  ['weightDecay', '<x>', 'AdamW decoupled weight decay (not on biases / LayerNorm)'],
  ['warmupRatio', '<x>', 'fraction of steps with linear warm-up'],
  ['schedule', '<kind>', 'learning-rate schedule'],
  ['clip', '<x>', 'global gradient-norm clip (0 = off)'],
  [
    'dropout',
    '<p>',
    "train-mode dropout in the frozen encoder and the classifier: a rate p in [0, 1) for all of them (0 = off), true (the checkpoint's own rates) or false (default: false for soft, dynamic and infoprompt, true for prefix; see docs/methods.md)",
  ],
  ['evalEvery', '<n>', 'evaluate on dev every n steps'],
  [
    'earlyStopPatience',
    '<n>',
    'stop once n dev evaluations in a row have not beaten the best main metric (0 = never); the best parameters are kept and scored',
  ],
  ['checkpointEvery', '<n>', 'checkpoint every n steps (0 = only at the end)'],
  ['seed', '<n>', 'seed of every random choice'],
  [
    'backend',
    '<b>',
    'where it runs (auto: webgpu on a real GPU, else wasm, the WebAssembly SIMD fast path on the CPU; cpu, the reference, for --dtype f64; the choice and why go to stderr)',
  ],
  ['threads', '<n>', 'wasm backend worker threads (0 = one per core)'],
  ['dtype', '<d>', 'float type of the computation'],
  [
    'weights',
    '<w>',
    'frozen dense weights (int8: 7-bit per-channel codes, integer products on cpu/wasm, and on webgpu where WGSL has dot4I8Packed (else f16/f32, said at start); f16 and int8: f32 dtype only)',
  ],
  [
    'segmentIds',
    '<how>',
    "token types: pair gives a pair's second text type 1; single gives type 0 throughout (for encoders that never trained type 1)",
  ],
  [
    'mix',
    '<rule>',
    'multitask: which task each step trains on: proportional (to train-set size) | uniform | temperature:T (∝ size^(1/T))',
  ],
  [
    'share',
    '<what>',
    "multitask: what the tasks share: nothing (a prompt per task), one prompt (task-level dynamic choices stay per task), or dynamic prompting's pool",
  ],
];

/** Why a command-line value is not of its kind (reportError prints it after `--flag value:`). */
const EXPECTED: Readonly<Record<Exclude<ConfigKind, readonly string[]>, string>> = {
  string: 'expected a string',
  bool: 'expected true or false',
  int: 'expected an integer ≥ 0',
  posint: 'expected an integer ≥ 1',
  num: 'expected a finite number',
  dropout: 'expected a rate in [0, 1), true or false',
};

/** A parser of one kind's values: what a --config file would hold, or InvalidArgumentError saying what was expected. */
export function valueParser(kind: Exclude<ConfigKind, readonly string[]>): (v: string) => string | number | boolean {
  return (v) => {
    if (kind === 'string') return v;
    if (kind === 'bool' || kind === 'dropout') {
      if (v === 'true' || v === 'false') return v === 'true';
      if (kind === 'bool') throw new InvalidArgumentError(EXPECTED.bool);
    }
    const n = v.trim() === '' ? NaN : Number(v);
    const ok =
      kind === 'dropout'
        ? n >= 0 && n < 1
        : kind === 'num'
          ? Number.isFinite(n)
          : Number.isSafeInteger(n) && (kind === 'posint' ? n >= 1 : n >= 0);
    if (!ok) throw new InvalidArgumentError(EXPECTED[kind]);
    return n;
  };
}

/** An integer option's parser with its own lower bound (sweep's --parallel, worker's --lock-duration, …). */
export const countParser =
  (min: number) =>
  (v: string): number => {
    const n = v.trim() === '' ? NaN : Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}`);
    return n;
  };

export interface OptionOverrides {
  /** Another flag for the field (eval's `--batch-size` sets evalBatchSize). */
  readonly flag?: string;
  readonly help?: string;
  /** Show the default in the help (train's: the config defaults; eval/predict's: none, the run's own value is kept). */
  readonly showDefault?: boolean;
}

/** The commander Option of a config field: its flag, help, choices or value parser (no default value:
 * an absent flag leaves the --config file's or the run's value in place). */
export function configOption(field: keyof RunConfig, over: OptionOverrides = {}): Option {
  const [, arg, help] = FLAGS.find(([f]) => f === field) ?? [field, '<value>', ''];
  const d = (DEFAULTS as Readonly<Record<string, unknown>>)[field];
  const text = over.help ?? help;
  const shown = over.showDefault !== false && d !== undefined ? `${text} (default ${JSON.stringify(d)})` : text;
  const option = new Option(`${over.flag ?? kebab(field)} ${arg}`, shown);
  const kind = CONFIG_KINDS[field];
  return typeof kind === 'string' ? option.argParser(valueParser(kind)) : option.choices(kind);
}

/**
 * A merged config's error in the CLI's one format, named where the value came from: `--flag value: why`
 * for a flag, `<file>: field "name": why` for a --config file's field, `--flag: why` for a value never given.
 */
export function configUsageError(e: ConfigError, flags: Partial<RunConfig>, file?: string): UsageError {
  const field = e.field as keyof RunConfig;
  const value = flags[field];
  const why = e.detail.replace(/, got .*$/, '');
  if (value !== undefined) return new UsageError(`${kebab(field)} ${String(value)}: ${why}`);
  if (file !== undefined && e.field in CONFIG_KINDS) return new UsageError(`${file}: field "${field}": ${e.detail}`);
  return new UsageError(`${kebab(field)}: ${e.detail}`);
}
