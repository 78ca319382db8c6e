/**
 * The run-level API, what the CLI does as functions: a checked config (`runConfig`), the model, tokenizer,
 * data and task model it names (`setupRun`), `train`, `evaluate`, `predict`, reopening a run folder
 * (`loadRun`) and writing a run's prompt and head as a Hugging Face PEFT adapter (`exportAdapter`).
 */
import * as E from 'fp-ts/lib/Either.js';
import { exportPeftAdapter, type PeftAdapterConfig } from '../prompting/peft-adapter.ts';
import { isLinearParams } from '../core/tensor/nn.ts';
import { mergeConfig, type RunConfig } from './run-config.ts';
import { loadBestParams, readRunConfig } from './run-load.ts';
import { setupRun } from './run-setup.ts';
import type { TaskData } from './task-data.ts';
import type { TaskModel, TrainParams } from './task-model.ts';
import { UsageError } from './usage-error.ts';

/** Run options: `model` and `task` are needed; the rest have defaults (run-config.ts, `promptgrad train --help`). */
export type RunOptions = Partial<RunConfig> & Pick<RunConfig, 'model' | 'task'>;

/** The full, checked configuration (a FewGLUE task without `data` reads the bundled copy). Throws UsageError. */
export function runConfig(options: RunOptions): RunConfig {
  const c = mergeConfig([options], 'runConfig');
  if (E.isLeft(c)) throw new UsageError(c.left.message);
  return c.right;
}

export interface LoadedRun {
  readonly cfg: RunConfig;
  readonly tm: TaskModel;
  readonly task: TaskData;
  /** The best parameters by the dev metric (those `eval`, `predict` and `export-peft` use). */
  readonly best: TrainParams;
  /** The step whose parameters `best` holds (the best dev evaluation's; the last step's if the run never evaluated on dev). */
  readonly bestStep: number;
  /** Optimiser steps done when the checkpoint was written. */
  readonly step: number;
  readonly backendNote: string;
}

/** What may change when a run is reopened: where it runs, and how many examples a forward pass takes. */
export type RunOverrides = Partial<Pick<RunConfig, 'backend' | 'threads' | 'evalBatchSize'>>;

/** Reopens a run folder written by `train`: its config, model, data and best parameters. */
export async function loadRun(folder: string, overrides: RunOverrides = {}) {
  const cfg = { ...readRunConfig(folder), ...overrides };
  const { tm, task, backendNote } = await setupRun(cfg);
  const { best, bestStep, step } = await loadBestParams(tm, folder, task.metrics.main);
  const run: LoadedRun = { cfg, tm, task, best, bestStep, step, backendNote };
  return run;
}

export interface ExportAdapterOptions {
  /** `base_model_name_or_path` to store (a hub id or a path); default the run's model, relative to the cwd. */
  readonly baseModel?: string;
  /** The run's results for the model card (dev, test). */
  readonly metrics?: Readonly<Record<string, string | number | boolean | null>>;
}

/** A verbalizer head has no PEFT form (checked from the config alone, before any model is loaded). */
export function refuseHeadWithoutPeftForm(cfg: Pick<RunConfig, 'head'>): void {
  if (cfg.head !== 'classifier')
    throw new UsageError(
      `export-peft: a ${cfg.head} head (MLM label-word scores at the mask) has no PEFT form: SEQ_CLS adapters hold a classifier, and a FEATURE_EXTRACTION adapter would drop the verbalizer (and the token type ids); train with --head classifier to export`,
    );
}

/**
 * Writes `params` (a soft prompt or prefix, and the classifier head) as a PEFT adapter folder that
 * `PeftModel.from_pretrained` loads. Refuses, naming why, what PEFT cannot express: a verbalizer head,
 * a method without a PEFT form (dynamic, InfoPrompt's generator), a BERT run without token type ids.
 */
export async function exportAdapter(
  tm: TaskModel,
  task: Pick<TaskData, 'labels'>,
  params: TrainParams,
  folder: string,
  opts: ExportAdapterOptions = {},
): Promise<PeftAdapterConfig> {
  const cfg = tm.cfg;
  refuseHeadWithoutPeftForm(cfg);
  if (cfg.segmentIds === 'single' && tm.model.cfg.modelType === 'bert')
    throw new UsageError(
      "export-peft: this run gave every token type 0 (--segment-ids single), but PEFT's SEQ_CLS wrapper passes the tokenizer's token type ids (1 for a pair's second text) to the model, so the adapter would be a different model on text pairs; train with --segment-ids pair to export",
    );
  if (!tm.method.peft)
    throw new UsageError(`export-peft: method "${cfg.method}" has no PEFT equivalent (soft and prefix do)`);
  const classifier = params['head'];
  if (classifier === undefined || !isLinearParams(classifier))
    throw new TypeError(
      "export-peft: the run's parameters have no classifier head (a Linear's weight and bias under 'head')",
    );
  return exportPeftAdapter(folder, tm.model, tm.method.peft(params['prompt']), {
    baseModelNameOrPath: opts.baseModel ?? cfg.model,
    classifier,
    ...(tm.pooler ? { pooler: tm.pooler } : {}),
    ...(tm.method.promptInit ? { init: tm.method.promptInit } : {}),
    ...(cfg.init === 'text' ? { initText: cfg.initText } : {}),
    saveProjectionWeights: true,
    card: {
      training: {
        trainer: 'PromptGrad',
        task: cfg.task,
        method: cfg.method,
        'virtual tokens': cfg.promptLength,
        steps: cfg.steps,
        'batch size': cfg.batchSize,
        'learning rate': cfg.lr,
        schedule: cfg.schedule,
        'weight decay': cfg.weightDecay,
        seed: cfg.seed,
        dtype: cfg.dtype,
      },
      labels: task.labels,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
    },
  });
}
