/**
 * `eval`, `predict` and `export-peft` on a multitask run folder (config.json with `task: "A,B,…"`):
 * each works on one task's single-task view (`--task <name>`: its head, label set and its prompt, i.e.
 * the shared part merged with its own), or on every task when `--task` is left out (eval, export-peft).
 */
import type { MultitaskModel } from '../training/multitask/model.ts';
import { UsageError } from '../training/usage-error.ts';

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

/** A single-task run only answers for its own task. */
export function refuseOtherTask(runTask: string, asked: string | undefined): void {
  if (asked !== undefined && asked.toLowerCase() !== runTask.toLowerCase())
    throw new UsageError(`--task ${asked}: this run trained ${runTask} only`);
}
