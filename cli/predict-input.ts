/**
 * What `predict` labels: lines of an --input JSONL file (the task's own record format, label and idx
 * optional; custom tasks `{"text", "text_pair"?}`), or texts given on the command line (`--text`, with
 * `--text-pair` for a task whose examples are text pairs).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import {
  classificationView,
  decodeUtf8Strict,
  formatDataError,
  isTaskName,
  parseTask,
  patternView,
  splitLines,
  type TaskExample,
  type DataError,
  type TaskName,
} from '../data/index.ts';
import { fsError } from '../training/fs-error.ts';
import { customExample, parseCustomInputs, type Example } from '../training/task-data.ts';
import { UsageError } from '../training/usage-error.ts';

/** A placeholder label of each FewGLUE task, so its parser reads records that carry none. */
const PLACEHOLDER_LABEL = {
  BoolQ: false,
  CB: 'neutral',
  COPA: 0,
  MultiRC: false,
  RTE: 'entailment',
  WiC: false,
  WSC: false,
} as const;

/** The FewGLUE tasks whose example is a text pair, and the record fields the two texts fill. */
const TEXT_PAIR_FIELDS: Partial<Readonly<Record<TaskName, readonly [string, string]>>> = {
  RTE: ['premise', 'hypothesis'],
  CB: ['premise', 'hypothesis'],
  BoolQ: ['passage', 'question'],
};

const toExample = (e: TaskExample): Example => ({
  view: classificationView(e),
  pattern: patternView(e),
  label: e.label,
});

/**
 * Input lines: the task's own record format (FewGLUE; the label may be absent) or {text, text_pair?, label?} for
 * custom, each read by the parser that reads the task's training data.
 */
export function parsePredictInput(file: string, task: string): readonly Example[] {
  if (!existsSync(file)) throw new UsageError(`--input ${file}: no such file`);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw fsError(e, file, 'read');
  }
  const decoded = decodeUtf8Strict(bytes, file);
  if (E.isLeft(decoded)) throw new UsageError(`--input ${formatDataError(decoded.left)}`);
  const examples = isTaskName(task) ? taskRecords(decoded.right, task, file) : parseCustomInputs(file, decoded.right);
  if (E.isLeft(examples)) throw new UsageError(`--input ${formatDataError(examples.left)}`);
  return examples.right;
}

/** FewGLUE records; new examples carry neither a label nor FewGLUE's `idx`: both are filled (idx = the line number). */
function taskRecords(text: string, task: TaskName, source: string): Either<DataError, readonly Example[]> {
  // splitLines as the task's parser splits them (BOM and CRLF dropped), so JSON.parse sees the same text
  const lines = splitLines(text).map(({ text: l, line }) => {
    if (l.trim() === '') return l;
    try {
      const v = JSON.parse(l) as Record<string, unknown>;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return l; // the task's parser names the fault
      const withIdx = 'idx' in v ? v : { ...v, idx: line - 1 };
      return !('label' in withIdx) && task !== 'MultiRC'
        ? JSON.stringify({ ...withIdx, label: PLACEHOLDER_LABEL[task] })
        : JSON.stringify(withIdx);
    } catch {
      return l;
    }
  });
  return pipe(
    parseTask(task, 'val', lines.join('\n'), source),
    E.map((d) => d.examples.map((e) => ({ ...toExample(e), label: 0 }))),
  );
}

/**
 * `--text` (repeated: one example each) and `--text-pair` (the second text of the example at the same
 * position). A custom task takes single texts or pairs; RTE and CB (premise, hypothesis) and BoolQ
 * (passage, question) take pairs; the other FewGLUE tasks have more fields and need --input records.
 */
export function textExamples(texts: readonly string[], pairs: readonly string[], task: string): readonly Example[] {
  if (pairs.length > 0 && pairs.length !== texts.length)
    throw new UsageError(
      `--text-pair: ${pairs.length} given for ${texts.length} --text; give one --text-pair after each --text`,
    );
  if (!isTaskName(task))
    return texts.map((text, i) =>
      customExample({ text, ...(pairs[i] !== undefined ? { textPair: pairs[i] } : {}), label: 0, line: i + 1 }),
    );
  const fields = TEXT_PAIR_FIELDS[task];
  if (!fields)
    throw new UsageError(
      `--text: a ${task} example is more than a text pair; give its records (as in the task's JSONL files) with --input`,
    );
  if (pairs.length === 0)
    throw new UsageError(
      `--text: a ${task} example is a text pair (${fields.join(', ')}); give the second text with --text-pair after each --text`,
    );
  const records = texts.map((t, i) => JSON.stringify({ [fields[0]]: t, [fields[1]]: pairs[i] }));
  const examples = taskRecords(records.join('\n'), task, '--text');
  if (E.isLeft(examples)) throw new UsageError(formatDataError(examples.left));
  return examples.right;
}
