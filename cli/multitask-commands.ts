/**
 * `eval`, `predict` and `export-peft` on a multitask run folder (config.json with `task: "A,B,…"`):
 * each works on one task's single-task view (`--task <name>`: its head, label set and its prompt, i.e.
 * the shared part merged with its own), or on every task when `--task` is left out (eval, export-peft).
 */
import { join } from 'node:path';
import type { ClassifierParams } from '../prompting/heads.ts';
import { exportPeftAdapter } from '../prompting/peft-adapter.ts';
import { evaluate } from '../training/evaluate.ts';
import type { MultitaskModel } from '../training/multitask/model.ts';
import { mainAverage } from '../training/multitask/report.ts';
import { loadMultitaskBest, setupMultitaskRun } from '../training/multitask/setup.ts';
import type { RunConfig } from '../training/run-config.ts';
import type { TaskModel, TrainParams } from '../training/task-model.ts';
import { UsageError } from '../training/usage-error.ts';
import type { TaskData } from '../training/task-data.ts';

/** One prediction line: the argmax label and the softmax over the task's labels. */
export function predictionLine(index: number, logits: readonly number[], labels: readonly string[]): string {
  const mx = Math.max(...logits),
    ex = logits.map((x) => Math.exp(x - mx)),
    z = ex.reduce((a, b) => a + b, 0);
  const probs = ex.map((x) => x / z);
  const c = probs.indexOf(Math.max(...probs));
  return JSON.stringify({ index, label: labels[c], probs: Object.fromEntries(labels.map((l, k) => [l, probs[k]])) });
}

/** The tasks a command acts on: `--task` (checked against the run's tasks) or all of them. */
function chosen(mt: MultitaskModel, task: string | undefined): readonly number[] {
  return task === undefined ? mt.tasks.map((_, i) => i) : [mt.indexOf(task)];
}

export async function evalMultitask(
  cfg: RunConfig,
  run: string,
  split: 'train' | 'dev' | 'test',
  splitName: string,
  task: string | undefined,
): Promise<void> {
  const { mt } = await setupMultitaskRun(cfg);
  const { best, step } = await loadMultitaskBest(mt, run);
  const which = chosen(mt, task);
  const scores = [];
  for (const i of which) {
    const t = mt.tasks[i]!;
    const s = (await evaluate(t.tm, t.data, mt.paramsFor(best, i), t.data[split])).scores;
    scores.push(s);
    const line = { run, task: t.name, split: splitName, examples: t.data[split].length, checkpointStep: step, ...s };
    console.log(JSON.stringify(line));
  }
  if (which.length > 1) {
    const avg = mainAverage(
      scores,
      which.map((i) => mt.tasks[i]!.data.metrics.main),
    );
    console.log(JSON.stringify({ run, task: 'average', split: splitName, checkpointStep: step, mainAverage: avg }));
  }
}

/** The task a multitask `predict` labels for: `--task` is required (each task has its own labels). */
export async function multitaskPredictor(
  cfg: RunConfig,
  run: string,
  task: string | undefined,
): Promise<{ tm: TaskModel; data: TaskData; params: TrainParams }> {
  if (task === undefined)
    throw new UsageError(`--run ${run} is a multitask run (${cfg.task}): name the task to predict with --task <name>`);
  const { mt } = await setupMultitaskRun(cfg);
  const i = mt.indexOf(task);
  const { best } = await loadMultitaskBest(mt, run);
  return { tm: mt.tasks[i]!.tm, data: mt.tasks[i]!.data, params: mt.paramsFor(best, i) };
}

/** Per task, the PEFT adapter of its prompt (+ classifier) in `<out>/<task>/`, when the method has one. */
export async function exportMultitask(
  cfg: RunConfig,
  run: string,
  out: string,
  task: string | undefined,
): Promise<void> {
  const { mt } = await setupMultitaskRun(cfg);
  const which = chosen(mt, task);
  const first = mt.tasks[which[0]!]!.tm;
  if (!first.method.peft)
    throw new UsageError(`export-peft: method "${cfg.method}" has no PEFT equivalent (soft and prefix do)`);
  const { best } = await loadMultitaskBest(mt, run);
  for (const i of which) {
    const { tm, name } = mt.tasks[i]!;
    const p = mt.paramsFor(best, i);
    const head = p['head'] as unknown as ClassifierParams | undefined;
    const dir = join(out, name);
    const written = exportPeftAdapter(dir, tm.model, tm.method.peft!(p['prompt']), {
      baseModelNameOrPath: cfg.model,
      ...(head ? { classifier: head } : {}),
      ...(tm.method.promptInit ? { init: tm.method.promptInit } : {}),
      ...(cfg.init === 'text' ? { initText: cfg.initText } : {}),
      saveProjectionWeights: true,
    });
    console.log(
      `wrote ${name}'s ${written.peft_type} adapter (${written.num_virtual_tokens} virtual tokens, task ${written.task_type}) to ${dir}`,
    );
  }
}
