/**
 * `eval`, `predict` and `export-peft` on a multitask run folder (config.json with `task: "A,B,…"`):
 * each works on one task's single-task view (`--task <name>`: its head, label set and its prompt, i.e.
 * the shared part merged with its own), or on every task when `--task` is left out (eval; export-peft
 * in peft-commands.ts).
 */
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
export function chosen(mt: MultitaskModel, task: string | undefined): readonly number[] {
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

/** A single-task run only answers for its own task. */
export function refuseOtherTask(runTask: string, asked: string | undefined): void {
  if (asked !== undefined && asked.toLowerCase() !== runTask.toLowerCase())
    throw new UsageError(`--task ${asked}: this run trained ${runTask} only`);
}
