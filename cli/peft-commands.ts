/**
 * PEFT adapters on the command line: `export-peft` (a run folder → an adapter PEFT loads) and the
 * `--model <hf-folder> --adapter <peft-folder>` path of `eval` / `predict` (an adapter made elsewhere,
 * PEFT-written included, run by PromptGrad with the task and data given as for `train`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import * as E from 'fp-ts/lib/Either.js';
import { importPeftAdapter, modelWithPooler } from '../prompting/peft-adapter.ts';
import { RUN_FILES } from '../training/loop.ts';
import { exportAdapter, refuseHeadWithoutPeftForm } from '../training/run-api.ts';
import { loadBestParams, readRunConfig } from '../training/run-load.ts';
import { decodePartial, mergeConfig, type RunConfig } from '../training/run-config.ts';
import { checkRunBounds } from '../training/run-bounds.ts';
import { backendFor, loadModel, readModelConfig, setupRun, UsageError } from '../training/run-setup.ts';
import { loadTaskData, type TaskData } from '../training/task-data.ts';
import { isMultitask, loadMultitaskBest, setupMultitaskRun } from '../training/multitask/setup.ts';
import { chosen, refuseOtherTask } from './multitask-commands.ts';
import { configOption, configUsageError } from './config-options.ts';
import { buildTaskModel, type TaskModel, type TrainParams } from '../training/task-model.ts';
import { loadPromptTokenizer } from '../training/text-encoding.ts';

/** Options of the adapter path, shared by eval and predict. */
export interface AdapterPathOptions {
  readonly model?: string;
  readonly adapter?: string;
  readonly task?: string;
  readonly data?: string;
  readonly dtype?: RunConfig['dtype'];
  readonly maxLength?: number;
}

export function addAdapterOptions(cmd: Command): Command {
  return cmd
    .option('--model <folder>', 'with --adapter: the Hugging Face base model folder')
    .option('--adapter <folder>', 'a PEFT adapter folder (adapter_config.json + adapter_model.safetensors or .bin)')
    .option(
      '--task <name>',
      'with --adapter: the task, as for train; with --run of a multitask run: which of its tasks',
    )
    .option(
      '--data <folder>',
      'with --adapter: the data root, as for train (default for a FewGLUE task: the bundled copy)',
    )
    .addOption(configOption('dtype', { help: 'with --adapter: float type of the computation' }))
    .addOption(configOption('maxLength', { help: 'with --adapter: max text tokens per example' }));
}

/** Which source the command reads: a run folder, or a model + adapter (never both, never neither). */
export function adapterPathChosen(o: AdapterPathOptions & { readonly run?: string }, command: string): boolean {
  // With --run, --task names one task of a multitask run (multitask-commands.ts).
  const adapterFlags = (['model', 'adapter', 'data'] as const).filter((k) => o[k] !== undefined);
  const needed = ['model', 'adapter', 'task'] as const;
  if (o.run !== undefined && adapterFlags.length > 0)
    throw new UsageError(
      `${command}: give either --run <folder> or --model/--adapter/--task/--data, not both (got --run and --${adapterFlags.join(', --')})`,
    );
  if (o.run !== undefined) return false;
  const missing = needed.filter((k) => o[k] === undefined);
  if (missing.length === needed.length && o.data === undefined)
    throw new UsageError(
      `${command}: give --run <folder>, or --model and --adapter with --task (and --data, as for train)`,
    );
  if (missing.length > 0) throw new UsageError(`${command}: the adapter path also needs --${missing.join(', --')}`);
  return true;
}

export interface AdapterSetup {
  readonly tm: TaskModel;
  readonly task: TaskData;
  readonly params: TrainParams;
  readonly note: string;
}

/**
 * Loads model, tokenizer, task and adapter; checks the adapter against both before anything runs.
 * `placement`: --backend, --threads and --batch-size (as evalBatchSize), checked as for train.
 */
export async function setupAdapterRun(
  o: AdapterPathOptions,
  placement: Partial<Pick<RunConfig, 'backend' | 'threads' | 'evalBatchSize'>> = {},
): Promise<AdapterSetup> {
  const flags = {
    ...Object.fromEntries(
      (['model', 'task', 'data', 'dtype', 'maxLength'] as const)
        .filter((k) => o[k] !== undefined)
        .map((k) => [k, o[k]]),
    ),
    ...placement,
  };
  const given = decodePartial(flags, 'command line');
  if (E.isLeft(given)) throw configUsageError(given.left, flags);
  // The adapter decides method and prompt length; the task, data and the rest are checked as for train.
  const merged = mergeConfig([given.right], 'command line');
  if (E.isLeft(merged)) throw configUsageError(merged.left, flags);
  const base = merged.right;
  checkRunBounds(base, await readModelConfig(base.model), undefined, '--batch-size');
  const task = await loadTaskData(base.task, base.data)();
  if (E.isLeft(task)) throw new UsageError(task.left.message);
  const { backend, note } = await backendFor(base.backend, base.threads, base);
  const model = await loadModel(base.model, base.dtype, backend);
  const tok = await loadPromptTokenizer(base.model)();
  if (E.isLeft(tok)) throw new UsageError(`--model: ${tok.left.message}`);
  const adapter = importPeftAdapter(o.adapter!, model);
  const where = `--adapter ${o.adapter!}`;
  if (adapter.config.task_type !== 'SEQ_CLS' || !adapter.classifier)
    throw new UsageError(
      `${where}: task_type ${String(adapter.config.task_type)} has no classification head; eval and predict need a SEQ_CLS adapter`,
    );
  const C = adapter.classifier.weight.shape[0]!;
  if (C !== task.right.labels.length)
    throw new UsageError(
      `${where}: the classifier has ${C} labels, task ${task.right.name} has ${task.right.labels.length} (${task.right.labels.join(', ')})`,
    );
  const projected = adapter.method.kind === 'prefix' && 'transform0' in adapter.method.params;
  const run: RunConfig = {
    ...base,
    method: adapter.method.kind === 'prompt' ? 'soft' : 'prefix',
    promptLength: adapter.config.num_virtual_tokens,
    prefixProjection:
      projected && adapter.config.peft_type === 'PREFIX_TUNING' ? adapter.config.encoder_hidden_size : 0,
    head: 'classifier',
    placement: 'before-cls', // PEFT PROMPT_TUNING prepends the virtual tokens
    segmentIds: 'pair', // PEFT's SEQ_CLS wrapper passes the tokenizer's token type ids on
  };
  const tm = buildTaskModel(modelWithPooler(model, adapter.pooler), tok.right, task.right, run);
  const params = { prompt: adapter.method.params, head: adapter.classifier } as unknown as TrainParams;
  return {
    tm,
    task: task.right,
    params,
    note: `${adapter.config.peft_type} adapter ${o.adapter!}, ${note}, ${base.dtype}`,
  };
}

function runMetrics(run: string): Record<string, number | string | null> | undefined {
  const file = join(run, RUN_FILES.results);
  if (!existsSync(file)) return undefined;
  const r = JSON.parse(readFileSync(file, 'utf8')) as {
    steps?: number;
    bestStep?: number;
    bestDev?: Record<string, number>;
    test?: Record<string, number> | null;
  };
  return {
    ...Object.fromEntries(Object.entries(r.bestDev ?? {}).map(([k, v]) => [`dev ${k} (best, step ${r.bestStep})`, v])),
    ...Object.fromEntries(Object.entries(r.test ?? {}).map(([k, v]) => [`test ${k}`, v])),
  };
}

export function exportPeftCommand(program: Command): void {
  program
    .command('export-peft')
    .description("write a run's best soft prompt / prefix + head as a Hugging Face PEFT adapter folder")
    .requiredOption('--run <folder>', 'run folder written by `promptgrad train`')
    .requiredOption('--out <folder>', 'adapter folder (adapter_config.json, adapter_model.safetensors, README.md)')
    .option(
      '--base-model <name>',
      "base_model_name_or_path to store (a hub id, or a path); default the run's --model, relative to the current folder",
    )
    .addHelpText(
      'after',
      '\nExamples:\n  promptgrad export-peft --run runs/rte-soft --out adapters/rte-soft --base-model bert-base-uncased\n  # then in Python: PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(...), "adapters/rte-soft")',
    )
    .option('--task <name>', 'multitask runs: export this task only (default: every task, into <out>/<task>/)')
    .action(async (o: { run: string; out: string; baseModel?: string; task?: string }) => {
      const cfg = readRunConfig(o.run);
      if (isMultitask(cfg)) return exportMultitask(cfg, o.run, o.out, o.task, o.baseModel);
      refuseOtherTask(cfg.task, o.task);
      refuseHeadWithoutPeftForm(cfg); // before loading the model
      const { tm, task } = await setupRun(cfg);
      const { best } = await loadBestParams(tm, o.run, task.metrics.main);
      const metrics = runMetrics(o.run);
      const written = await exportAdapter(tm, task, best, o.out, {
        ...(o.baseModel !== undefined ? { baseModel: o.baseModel } : {}),
        ...(metrics ? { metrics } : {}),
      });
      console.log(
        `wrote ${written.peft_type} adapter (${written.num_virtual_tokens} virtual tokens, task_type ${written.task_type}: PEFT's sequence-classification wrapper, token type ids kept) to ${o.out}`,
      );
    });
}

/** Per task of a multitask run, the PEFT adapter of its prompt (shared part + its own) and head in `<out>/<task>/`. */
async function exportMultitask(
  cfg: RunConfig,
  run: string,
  out: string,
  task: string | undefined,
  baseModel: string | undefined,
): Promise<void> {
  const { mt } = await setupMultitaskRun(cfg);
  const which = chosen(mt, task);
  const { best } = await loadMultitaskBest(mt, run);
  for (const i of which) {
    const t = mt.tasks[i]!;
    const params = mt.paramsFor(best, i);
    const folder = join(out, t.name);
    const written = await exportAdapter(t.tm, t.data, params, folder, baseModel !== undefined ? { baseModel } : {});
    console.log(
      `wrote ${t.name}'s ${written.peft_type} adapter (${written.num_virtual_tokens} virtual tokens) to ${folder}`,
    );
  }
}
