/**
 * From a multitask RunConfig (`task: "RTE,CB,…"`) to a MultitaskModel: every task's data, one backend,
 * one frozen encoder and tokenizer. Also reopens a multitask run folder's best parameters.
 */
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { RUN_FILES, runKey } from '../loop.ts';
import { adamw } from '../optimizer.ts';
import { taskList, type RunConfig } from '../run-config.ts';
import { backendFor, loadModel } from '../run-setup.ts';
import { loadTaskData, type TaskData } from '../task-data.ts';
import { loadPromptTokenizer } from '../text-encoding.ts';
import { cloneTree, disposeTree } from '../tree-util.ts';
import { UsageError } from '../usage-error.ts';
import { loadMultitaskCheckpoint } from './checkpoint.ts';
import { buildMultitaskModel, type MultitaskModel } from './model.ts';
import { bestAverage } from './report.ts';
import type { MultitaskParams } from './sharing.ts';

export interface MultitaskSetup {
  readonly mt: MultitaskModel;
  readonly backendNote: string;
}

/** Whether a config names several tasks (a multitask run). */
export const isMultitask = (cfg: Pick<RunConfig, 'task'>): boolean => taskList(cfg).length > 1;

export async function setupMultitaskRun(cfg: RunConfig): Promise<MultitaskSetup> {
  // multitask loads f32 frozen weights only (f16/int8 are not wired or tested there): refuse, do not fall back
  if (cfg.weights !== 'f32')
    throw new UsageError(
      `--weights ${cfg.weights}: multitask runs take f32 frozen weights only (train one task for ${cfg.weights})`,
    );
  const tasks: TaskData[] = [];
  for (const name of taskList(cfg)) {
    const t = await loadTaskData(name, cfg.data)();
    if (E.isLeft(t)) throw new UsageError(t.left.message);
    tasks.push(t.right);
  }
  const { backend, note } = await backendFor(cfg.backend, cfg.threads, cfg);
  const model = await loadModel(cfg.model, cfg.dtype, backend, 'f32', cfg.dropout);
  const tok = await loadPromptTokenizer(cfg.model)();
  if (E.isLeft(tok)) throw new UsageError(`--model: ${tok.left.message}`);
  return { mt: buildMultitaskModel(model, tok.right, tasks, cfg), backendNote: note };
}

/**
 * The best parameters (by the average dev metric) stored in a multitask run's checkpoint, with the step
 * they are from; the current ones (and the last step) when no dev evaluation ever ran.
 */
export async function loadMultitaskBest(
  mt: MultitaskModel,
  run: string,
): Promise<{ best: MultitaskParams; bestStep: number; step: number; byDev: boolean }> {
  const init = mt.init(runKey(mt.cfg.seed));
  const template = { params: { current: init, best: cloneTree(init) }, opt: adamw().init(init) };
  const names = mt.tasks.map((t) => t.name);
  try {
    const r = await loadMultitaskCheckpoint(join(run, RUN_FILES.checkpoint), template, names);
    disposeTree(r.opt);
    const bestStep = bestAverage(r.metrics).step;
    if (bestStep === 0) {
      disposeTree(r.params.best);
      return { best: r.params.current, bestStep: r.step, step: r.step, byDev: false };
    }
    disposeTree(r.params.current);
    return { best: r.params.best, bestStep, step: r.step, byDev: true };
  } catch (e) {
    throw new UsageError(`--run ${run}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    disposeTree(template.params);
    disposeTree(template.opt.slots);
  }
}
