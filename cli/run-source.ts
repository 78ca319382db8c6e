/**
 * What `eval` and `predict` score with: a run folder's best parameters (one task, or the tasks of a
 * multitask run), or a PEFT adapter on a base model (peft-commands.ts); and the options they share with
 * `train` for where and how it runs (--backend, --threads, --batch-size), defined once in config-options.ts.
 */
import type { Command } from 'commander';
import type { RunConfig } from '../training/run-config.ts';
import { checkRunBounds } from '../training/run-bounds.ts';
import { loadBestParams, readRunConfig } from '../training/run-load.ts';
import { readModelConfig, setupRun } from '../training/run-setup.ts';
import { isMultitask, loadMultitaskBest, setupMultitaskRun } from '../training/multitask/setup.ts';
import type { TaskData } from '../training/task-data.ts';
import { UsageError } from '../training/usage-error.ts';
import type { TaskModel, TrainParams } from '../training/task-model.ts';
import { configOption } from './config-options.ts';
import { chosen, refuseOtherTask } from './multitask-commands.ts';
import { adapterPathChosen, addAdapterOptions, setupAdapterRun, type AdapterPathOptions } from './peft-commands.ts';

/** Where and how a reopened run (or an adapter) runs: the flags eval and predict share with train. */
export interface PlacementOptions {
  readonly backend?: RunConfig['backend'];
  readonly threads?: number;
  /** `--batch-size`: examples per forward pass (the run's evalBatchSize). */
  readonly batchSize?: number;
}

export type SourceOptions = AdapterPathOptions & PlacementOptions & { readonly run?: string };

/** --run, the adapter path's options, and --backend / --threads / --batch-size. */
export function addSourceOptions(cmd: Command): Command {
  cmd.option('--run <folder>', 'run folder written by `promptgrad train`');
  addAdapterOptions(cmd);
  const own = "the run's own; with --adapter: train's default";
  return cmd
    .addOption(configOption('backend', { help: `where it runs (default: ${own})`, showDefault: false }))
    .addOption(
      configOption('threads', {
        help: `wasm backend worker threads, 0 = one per core (default: ${own})`,
        showDefault: false,
      }),
    )
    .addOption(
      configOption('evalBatchSize', {
        flag: '--batch-size',
        help: `examples per forward pass (default: the run's evaluation batch size; with --adapter: train's default)`,
        showDefault: false,
      }),
    );
}

/** The placement flags given, as config fields. */
export const placementOf = (
  o: PlacementOptions,
): Partial<Pick<RunConfig, 'backend' | 'threads' | 'evalBatchSize'>> => ({
  ...(o.backend !== undefined ? { backend: o.backend } : {}),
  ...(o.threads !== undefined ? { threads: o.threads } : {}),
  ...(o.batchSize !== undefined ? { evalBatchSize: o.batchSize } : {}),
});

/** One task's model, data and the parameters to score it with. */
export interface ScoredTask {
  readonly tm: TaskModel;
  readonly task: TaskData;
  readonly params: TrainParams;
}

export interface ScoringSource {
  /** `--run <folder>` or `--adapter <folder>`: the JSON output's key and value. */
  readonly from: { readonly run: string } | { readonly adapter: string };
  /** Every task scored (a multitask run: those chosen with --task, else all of them). */
  readonly tasks: readonly ScoredTask[];
  readonly multitask: boolean;
  /** Runs only: the step whose parameters are scored (the best dev step, or the last if never evaluated) and the steps trained. */
  readonly steps?: { readonly scored: number; readonly trained: number; readonly byDev: boolean };
  readonly backendNote: string;
}

/** Opens the source the options name (a run folder or an adapter), with --backend / --threads / --batch-size applied. */
export async function openSource(o: SourceOptions, command: 'eval' | 'predict'): Promise<ScoringSource> {
  const placement = placementOf(o);
  if (adapterPathChosen(o, command)) {
    const a = await setupAdapterRun(o, placement);
    return {
      from: { adapter: o.adapter! },
      tasks: [{ tm: a.tm, task: a.task, params: a.params }],
      multitask: false,
      backendNote: a.note,
    };
  }
  const run = o.run!;
  const cfg: RunConfig = { ...readRunConfig(run), ...placement };
  checkRunBounds(cfg, await readModelConfig(cfg.model), undefined, '--batch-size'); // --threads and --batch-size bounded as for train
  if (isMultitask(cfg)) {
    // predict labels with one task's label set, so a multitask run needs --task (checked before anything loads).
    if (command === 'predict' && o.task === undefined)
      throw new UsageError(
        `--run ${run} is a multitask run (${cfg.task}): name the task to predict with --task <name>`,
      );
    const { mt, backendNote } = await setupMultitaskRun(cfg);
    const which = chosen(mt, o.task);
    const { best, bestStep, step, byDev } = await loadMultitaskBest(mt, run);
    const tasks = which.map((i) => ({ tm: mt.tasks[i]!.tm, task: mt.tasks[i]!.data, params: mt.paramsFor(best, i) }));
    return { from: { run }, tasks, multitask: true, steps: { scored: bestStep, trained: step, byDev }, backendNote };
  }
  refuseOtherTask(cfg.task, o.task);
  const { tm, task, backendNote } = await setupRun(cfg);
  const { best, bestStep, step, byDev } = await loadBestParams(tm, run, task.metrics.main);
  return {
    from: { run },
    tasks: [{ tm, task, params: best }],
    multitask: false,
    steps: { scored: bestStep, trained: step, byDev },
    backendNote,
  };
}
