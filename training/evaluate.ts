/** Evaluation and prediction of a TaskModel on labelled examples: eval-mode forward, argmax, task metrics. */
import { scope, type Tensor } from '../core/index.ts';
import { argmaxRows, batches, type Scores } from '../data/index.ts';
import type { Example, TaskData } from './task-data.ts';
import type { TaskModel, TrainParams } from './task-model.ts';

/** Logits rows [N][C] in example order (eval mode: no dropout). */
export async function logitsOf(tm: TaskModel, params: TrainParams, examples: readonly Example[]): Promise<number[][]> {
  const rows: number[][] = [];
  for (const chunk of batches(examples, tm.cfg.evalBatchSize)) {
    const logits: Tensor = scope(tm.model.bk, () => tm.forward(params, tm.batch(chunk)).logits);
    const data = await logits.data();
    logits.dispose();
    const C = logits.shape[1]!;
    for (let b = 0; b < chunk.length; b++) rows.push(Array.from(data.subarray(b * C, (b + 1) * C), Number));
  }
  return rows;
}

export interface EvalResult {
  readonly scores: Scores;
  readonly preds: readonly number[];
  readonly logits: readonly (readonly number[])[];
}

export async function evaluate(
  tm: TaskModel,
  task: TaskData,
  params: TrainParams,
  examples: readonly Example[],
): Promise<EvalResult> {
  const logits = await logitsOf(tm, params, examples);
  const preds = argmaxRows(logits);
  const labels = examples.map((e) => e.label);
  const groups = examples.map((e) => e.group ?? 0);
  return { scores: task.metrics.compute({ preds, labels, groups }), preds, logits };
}
