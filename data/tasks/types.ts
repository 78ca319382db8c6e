/** Typed FewGLUE examples, one interface per task, with a fixed label list per task (label = index into it). */

export const TASKS = ['BoolQ', 'CB', 'COPA', 'MultiRC', 'RTE', 'WiC', 'WSC'] as const;
export type TaskName = (typeof TASKS)[number];

export const SPLITS = ['train', 'dev32', 'val'] as const;
export type Split = (typeof SPLITS)[number];

/**
 * Class names per task; an example's `label` is an index into its task's list. The orders follow PET's
 * processors (CB: entailment, contradiction, neutral) so verbalizer tables line up with them.
 */
export const LABELS = {
  BoolQ: ['false', 'true'],
  CB: ['entailment', 'contradiction', 'neutral'],
  COPA: ['choice1', 'choice2'],
  MultiRC: ['false', 'true'],
  RTE: ['entailment', 'not_entailment'],
  WiC: ['false', 'true'],
  WSC: ['false', 'true'],
} as const satisfies { readonly [T in TaskName]: readonly string[] };

export type LabelName<T extends TaskName> = (typeof LABELS)[T][number];

export const isTaskName = (s: string): s is TaskName => (TASKS as readonly string[]).includes(s);
/**
 * The canonical spelling of a task name typed in any case (`rte` → `RTE`, `CUSTOM` → `custom`);
 * a name that is no task comes back unchanged, for the caller's own error.
 */
export function canonicalTaskName(s: string): string {
  const lower = s.toLowerCase();
  if (lower === 'custom') return 'custom';
  return TASKS.find((t) => t.toLowerCase() === lower) ?? s;
}

export const isSplit = (s: string): s is Split => (SPLITS as readonly string[]).includes(s);

interface Base<T extends TaskName> {
  readonly task: T;
  /** The record's `idx` (for MultiRC: the answer option's idx). */
  readonly idx: number;
  /** Class index into `LABELS[task]`. */
  readonly label: number;
  /** 1-based line of the source file the example came from, for error messages downstream. */
  readonly line: number;
}

export interface BoolQExample extends Base<'BoolQ'> {
  readonly passage: string;
  readonly question: string;
}

export interface CBExample extends Base<'CB'> {
  readonly premise: string;
  readonly hypothesis: string;
}

export interface RTEExample extends Base<'RTE'> {
  readonly premise: string;
  readonly hypothesis: string;
}

export interface COPAExample extends Base<'COPA'> {
  readonly premise: string;
  readonly choice1: string;
  readonly choice2: string;
  readonly question: 'cause' | 'effect';
}

export interface WiCExample extends Base<'WiC'> {
  /** Target word as a lemma; its surface form in the sentences may differ ("feel" / "felt"). */
  readonly word: string;
  readonly sentence1: string;
  readonly sentence2: string;
  /** Character offsets of the target in each sentence, end excluded. */
  readonly start1: number;
  readonly end1: number;
  readonly start2: number;
  readonly end2: number;
}

export interface Span {
  readonly text: string;
  /** Whitespace-token index into `text.split(/\s+/)`, not a character offset. */
  readonly index: number;
}

export interface WSCExample extends Base<'WSC'> {
  readonly text: string;
  /** Candidate noun phrase. */
  readonly span1: Span;
  /** Pronoun; label true = it refers to span1. */
  readonly span2: Span;
}

/** One answer option of one question; options sharing `group` form a question for exact match. */
export interface MultiRCExample extends Base<'MultiRC'> {
  readonly passageIdx: number;
  readonly questionIdx: number;
  /** Question group id (the question's idx, unique within a file) for F1a/EM grouping. */
  readonly group: number;
  readonly passage: string;
  readonly question: string;
  readonly answer: string;
}

export interface ExampleMap {
  readonly BoolQ: BoolQExample;
  readonly CB: CBExample;
  readonly COPA: COPAExample;
  readonly MultiRC: MultiRCExample;
  readonly RTE: RTEExample;
  readonly WiC: WiCExample;
  readonly WSC: WSCExample;
}

export type ExampleOf<T extends TaskName> = ExampleMap[T];
export type TaskExample = ExampleMap[TaskName];
