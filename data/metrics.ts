/**
 * SuperGLUE metrics as pure functions of predicted and gold class indices. Definitions follow the
 * SuperGLUE/PET evaluation (sklearn semantics): CB reports accuracy and macro-F1, MultiRC F1a (binary F1 over
 * all answer options) and EM (a question counts only if every one of its options is right).
 */
import type { TaskName } from './tasks/types.ts';

export type MetricName = 'accuracy' | 'macroF1' | 'f1a' | 'exactMatch';

export interface MetricInput {
  readonly preds: readonly number[];
  readonly labels: readonly number[];
  /** Question group per example; required by exact match (MultiRC `example.group`). */
  readonly groups?: readonly (string | number)[];
}

export type Scores = Readonly<Partial<Record<MetricName, number>>>;

export interface TaskMetrics {
  readonly names: readonly MetricName[];
  /** The metric used for model selection (checkpoint / hyper-parameter choice). */
  readonly main: MetricName;
  readonly compute: (input: MetricInput) => Scores;
}

/** Mismatched or empty inputs are caller bugs, and a silent NaN/0 score would corrupt model selection. */
function check(preds: readonly number[], labels: readonly number[], what: string): void {
  if (preds.length !== labels.length)
    throw new RangeError(`${what}: ${preds.length} predictions vs ${labels.length} labels`);
  if (preds.length === 0) throw new RangeError(`${what}: no examples`);
}

export function accuracy(preds: readonly number[], labels: readonly number[]): number {
  check(preds, labels, 'accuracy');
  let right = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === labels[i]) right++;
  return right / preds.length;
}

/** F1 of one class; 0 when it has no true and no predicted positives (sklearn's zero_division=0). */
export function f1ForClass(preds: readonly number[], labels: readonly number[], cls: number): number {
  check(preds, labels, 'f1');
  let tp = 0,
    fp = 0,
    fn = 0;
  for (let i = 0; i < preds.length; i++) {
    const p = preds[i] === cls,
      g = labels[i] === cls;
    if (p && g) tp++;
    else if (p) fp++;
    else if (g) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/**
 * Unweighted mean of per-class F1 over the classes present in labels or predictions, as sklearn's
 * f1_score(average='macro') without `labels` (what PET reports for CB): a class absent from both is skipped.
 */
export function macroF1(preds: readonly number[], labels: readonly number[]): number {
  check(preds, labels, 'macroF1');
  const classes = [...new Set([...labels, ...preds])].sort((a, b) => a - b);
  return classes.reduce((s, c) => s + f1ForClass(preds, labels, c), 0) / classes.length;
}

/** MultiRC F1a: binary F1 of class 1 (answer correct) over all answer options pooled together. */
export const f1a = (preds: readonly number[], labels: readonly number[]): number => f1ForClass(preds, labels, 1);

/** Fraction of groups (MultiRC questions) whose every option is predicted right. */
export function exactMatch(
  preds: readonly number[],
  labels: readonly number[],
  groups: readonly (string | number)[],
): number {
  check(preds, labels, 'exactMatch');
  if (groups.length !== preds.length)
    throw new RangeError(`exactMatch: ${groups.length} groups vs ${preds.length} predictions`);
  const allRight = new Map<string | number, boolean>();
  for (let i = 0; i < preds.length; i++) {
    const g = groups[i]!;
    allRight.set(g, (allRight.get(g) ?? true) && preds[i] === labels[i]);
  }
  let n = 0;
  for (const ok of allRight.values()) if (ok) n++;
  return n / allRight.size;
}

const ACC: TaskMetrics = {
  names: ['accuracy'],
  main: 'accuracy',
  compute: ({ preds, labels }) => ({ accuracy: accuracy(preds, labels) }),
};

/**
 * Task metrics. CB selects on macro-F1 (accuracy rewards ignoring the rare `neutral` class); MultiRC on F1a,
 * the SuperGLUE leaderboard's first MultiRC number. The other tasks use accuracy.
 */
export const TASK_METRICS: { readonly [T in TaskName]: TaskMetrics } = {
  BoolQ: ACC,
  COPA: ACC,
  RTE: ACC,
  WiC: ACC,
  WSC: ACC,
  CB: {
    names: ['accuracy', 'macroF1'],
    main: 'macroF1',
    compute: ({ preds, labels }) => ({ accuracy: accuracy(preds, labels), macroF1: macroF1(preds, labels) }),
  },
  MultiRC: {
    names: ['f1a', 'exactMatch'],
    main: 'f1a',
    compute: ({ preds, labels, groups }) => {
      if (groups === undefined) throw new RangeError('MultiRC metrics need question groups (example.group)');
      return { f1a: f1a(preds, labels), exactMatch: exactMatch(preds, labels, groups) };
    },
  },
};

export const metricsFor = (task: TaskName): TaskMetrics => TASK_METRICS[task];

/** The main metric's value from a `compute` result. */
export function mainScore(task: TaskName, scores: Scores): number {
  const m = TASK_METRICS[task].main;
  const v = scores[m];
  if (v === undefined) throw new RangeError(`scores for ${task} lack its main metric ${m}`);
  return v;
}

/** Index of the highest value per row: predictions from logits/scores. */
export function argmaxRows(rows: readonly (readonly number[])[]): readonly number[] {
  return rows.map((r) => r.reduce((best, v, i) => (v > r[best]! ? i : best), 0));
}
