/**
 * Prediction on new inputs: each a plain text, a text pair, or an already-built Example (the task's
 * own record, as `promptgrad predict` reads it). Eval-mode forward, softmax over the task's labels.
 */
import { logitsOf } from './evaluate.ts';
import { customExample, type Example, type TaskData } from './task-data.ts';
import type { TaskModel, TrainParams } from './task-model.ts';

/** A text, or a pair (premise / hypothesis, question / passage…), as the classifier reads it. */
export type TextInput = string | { readonly text: string; readonly textPair?: string };

export interface Prediction {
  /** The most probable label (first on a tie). */
  readonly label: string;
  /** P(label) for each of the task's labels, in the task's order. */
  readonly probs: Readonly<Record<string, number>>;
}

/** Texts as examples (the label field is unused by prediction). */
export const textExamples = (inputs: readonly TextInput[]): Example[] =>
  inputs.map((x) =>
    customExample(
      typeof x === 'string'
        ? { text: x, label: 0, line: 0 }
        : { text: x.text, ...(x.textPair !== undefined ? { textPair: x.textPair } : {}), label: 0, line: 0 },
    ),
  );

/** Softmax of a logits row, in f64 on the host. */
export function softmaxRow(row: readonly number[]): number[] {
  const mx = Math.max(...row),
    ex = row.map((x) => Math.exp(x - mx)),
    z = ex.reduce((a, b) => a + b, 0);
  return ex.map((x) => x / z);
}

/** Labels and probabilities for `inputs` (texts, pairs or Examples), in order. */
export async function predict(
  tm: TaskModel,
  task: Pick<TaskData, 'labels'>,
  params: TrainParams,
  inputs: readonly (TextInput | Example)[],
): Promise<Prediction[]> {
  const examples = inputs.map((x) => (typeof x === 'object' && 'view' in x ? x : textExamples([x])[0]!));
  const rows = await logitsOf(tm, params, examples);
  return rows.map((r) => {
    const probs = softmaxRow(r);
    const c = probs.indexOf(Math.max(...probs));
    return {
      label: task.labels[c]!,
      probs: Object.fromEntries(task.labels.map((l, k) => [l, probs[k]!])),
    };
  });
}
