/**
 * A task as the loop sees it: labelled examples in three splits (train / dev for model selection /
 * test for the final report, FewGLUE's train / dev32 / val), each with a classifier view and a cloze
 * view, plus the task's metrics. FewGLUE tasks load from `<data>/<Task>/<split>.jsonl`; `custom` loads
 * `<data>/<split>.jsonl` with `text`, optional `text_pair` and `label` fields (accuracy).
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { TaskEither } from 'fp-ts/lib/TaskEither.js';
import {
  classificationView,
  formatDataError,
  isTaskName,
  loadGeneric,
  loadTask,
  MASK,
  parseGenericInputs,
  metricsFor,
  patternView,
  TASKS,
  type DataError,
  type Split,
  type TaskExample,
  type TaskMetrics,
  type TaskName,
  type TextView,
  type GenericExample,
} from '../data/index.ts';
import { LABELS, verbalizerFor } from '../data/index.ts';
import { joinPath as join } from '../io/platform.ts';

export interface Example {
  readonly view: TextView;
  /** Cloze view with exactly one `{mask}`. */
  readonly pattern: TextView;
  readonly label: number;
  readonly group?: number | string;
}

export interface TaskData {
  readonly name: string;
  readonly labels: readonly string[];
  /** One word per class for the verbalizer head. */
  readonly verbalizer: readonly string[];
  readonly metrics: TaskMetrics;
  readonly train: readonly Example[];
  readonly dev: readonly Example[];
  readonly test: readonly Example[];
}

export const SPLIT_FILES = { train: 'train', dev: 'dev32', test: 'val' } as const satisfies Record<string, Split>;

export const ACCURACY_METRICS: TaskMetrics = metricsFor('RTE');

const fromFewGlue = (e: TaskExample): Example => ({
  view: classificationView(e),
  pattern: patternView(e),
  label: e.label,
  ...(e.task === 'MultiRC' ? { group: e.group } : {}),
});

/** Cloze view of a custom example: `<text> ? {mask} .` (with the pair after it). */
export const customExample = (e: GenericExample): Example => ({
  view: e.textPair === undefined ? { text: e.text } : { text: e.text, textPair: e.textPair },
  pattern:
    e.textPair === undefined
      ? { text: `${e.text} ? ${MASK} .` }
      : { text: `${e.text} ? ${MASK} ,`, textPair: e.textPair },
  label: e.label,
});

/** The custom task's record fields; a record with `text_pair` is a sentence pair (the tokenizer's pair encoding). */
const CUSTOM_FIELDS = { text: 'text', textPair: 'text_pair', label: 'label' } as const;
const CUSTOM_RECORDS = { mapping: CUSTOM_FIELDS, optionalPair: true } as const;

/**
 * Custom-task records to label (predict's `--input`), read by the parser that reads the task's training
 * data, so both take the same files with the same errors; only the label may be left out.
 */
export function parseCustomInputs(file: string, text: string): Either<DataError, readonly Example[]> {
  return pipe(
    parseGenericInputs(file, text, CUSTOM_RECORDS),
    E.map((records) => records.map((r) => customExample({ ...r, label: 0 }))),
  );
}

export type TaskError = { readonly _tag: 'TaskError'; readonly message: string };
const taskError = (message: string): TaskError => ({ _tag: 'TaskError', message });
const fromData = (e: DataError): TaskError => taskError(formatDataError(e));

export function loadTaskData(task: string, data: string): TaskEither<TaskError, TaskData> {
  if (isTaskName(task)) {
    const t: TaskName = task;
    const split = (s: Split) =>
      pipe(
        loadTask(data, t, s),
        TE.map((d) => d.examples.map(fromFewGlue)),
        TE.mapLeft(fromData),
      );
    return pipe(
      TE.Do,
      TE.bind('train', () => split('train')),
      TE.bind('dev', () => split('dev32')),
      TE.bind('test', () => split('val')),
      TE.map(({ train, dev, test }) => ({
        name: t,
        labels: metricsLabels(t),
        verbalizer: verbalizerFor(t),
        metrics: metricsFor(t),
        train,
        dev,
        test,
      })),
    );
  }
  if (task !== 'custom') return TE.left(taskError(`unknown task "${task}" (known: ${TASKS.join(', ')}, custom)`));
  return pipe(
    loadGeneric(join(data, 'train.jsonl'), CUSTOM_RECORDS),
    TE.mapLeft(fromData),
    TE.flatMap((train) => {
      const opts = { ...CUSTOM_RECORDS, labels: train.labels };
      return pipe(
        TE.Do,
        TE.bind('dev', () => pipe(loadGeneric(join(data, 'dev32.jsonl'), opts), TE.mapLeft(fromData))),
        TE.bind('test', () => pipe(loadGeneric(join(data, 'val.jsonl'), opts), TE.mapLeft(fromData))),
        TE.map(({ dev, test }) => ({
          name: 'custom',
          labels: train.labels,
          verbalizer: train.labels,
          metrics: ACCURACY_METRICS,
          train: train.examples.map(customExample),
          dev: dev.examples.map(customExample),
          test: test.examples.map(customExample),
        })),
      );
    }),
  );
}

const metricsLabels = (t: TaskName): readonly string[] => LABELS[t];
