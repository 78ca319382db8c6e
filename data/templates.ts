/**
 * Per-task input views. `classify` feeds a classifier head on [CLS] (text, optional pair). `pattern` is the
 * PET-style cloze view: exactly one MASK across text/textPair, which the tokenizer swaps for the model's mask
 * token, and `verbalizer[c]` is the word the MLM should put there for class c (indexed like LABELS[task]).
 * Patterns are pattern 0 of PET (Schick & Schütze 2021, "It's Not Just Size That Matters", and the pvp.py of
 * github.com/timoschick/pet) unless a comment says otherwise; PET's two segments map to text/textPair.
 */
import { LABELS } from './tasks/types.ts';
import type { ExampleOf, TaskExample, TaskName } from './tasks/types.ts';

export const MASK = '{mask}';

export interface TextView {
  readonly text: string;
  readonly textPair?: string;
}

export interface TaskTemplate<T extends TaskName> {
  /** Where the pattern comes from. */
  readonly source: string;
  readonly classify: (e: ExampleOf<T>) => TextView;
  readonly pattern: (e: ExampleOf<T>) => TextView;
  /** One label word per class, in LABELS[task] order. */
  readonly verbalizer: readonly string[];
}

/** Data text must never add a second placeholder, so a literal `{mask}` in a field is defused. */
const clean = (s: string): string => s.replaceAll(MASK, '(mask)');

/** PET's `remove_final_punc`: the pattern supplies its own punctuation after the field. */
const noFinalPunct = (s: string): string => s.replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]+$/u, '');

const view = (text: string, textPair?: string): TextView => (textPair === undefined ? { text } : { text, textPair });

/** Marks the whitespace token at `index` as `*token*`, as PET's WSC pattern does for the pronoun. */
export function markToken(text: string, index: number): string {
  const words = text.split(/\s+/).filter((w) => w !== '');
  if (index < 0 || index >= words.length) return text;
  return words.map((w, i) => (i === index ? `*${w}*` : w)).join(' ');
}

export const TEMPLATES: { readonly [T in TaskName]: TaskTemplate<T> } = {
  BoolQ: {
    source: 'PET BoolQPVP pattern 0: "{passage}. Question: {question}? Answer: {mask}." with No/Yes',
    classify: (e) => view(clean(e.question), clean(e.passage)),
    pattern: (e) => view(`${clean(e.passage)}. Question: ${clean(e.question)}? Answer: ${MASK}.`),
    verbalizer: ['No', 'Yes'],
  },
  CB: {
    source: 'PET CbPVP (= RtePVP) pattern 0: \'"{hypothesis}" ?\' / \'{mask}, "{premise}"\' with Yes/No/Maybe',
    classify: (e) => view(clean(e.premise), clean(e.hypothesis)),
    pattern: (e) => view(`"${noFinalPunct(clean(e.hypothesis))}" ?`, `${MASK}, "${clean(e.premise)}"`),
    verbalizer: ['Yes', 'No', 'Maybe'], // entailment, contradiction, neutral
  },
  RTE: {
    source: 'PET RtePVP pattern 0: \'"{hypothesis}" ?\' / \'{mask}, "{premise}"\' with Yes/No',
    classify: (e) => view(clean(e.premise), clean(e.hypothesis)),
    pattern: (e) => view(`"${noFinalPunct(clean(e.hypothesis))}" ?`, `${MASK}, "${clean(e.premise)}"`),
    verbalizer: ['Yes', 'No'], // entailment, not_entailment
  },
  // PET's COPA verbalizer is the text of each choice (multi-token), which a fixed per-class word cannot express.
  // Adapted scheme (ours): both choices shown as numbered options in one input, the class is the option
  // number, so COPA is a plain 2-way problem (label 0 = choice1 = "one", label 1 = choice2 = "two").
  // The connective follows PET: "because" for a cause question, "so" for an effect question.
  COPA: {
    source: 'adapted from PET CopaPVP ("because"/"so" joiner); options numbered, verbalizer one/two',
    classify: (e) =>
      view(
        `${noFinalPunct(clean(e.premise))} ${copaJoiner(e.question)}`,
        `Option one: ${clean(e.choice1)} Option two: ${clean(e.choice2)}`,
      ),
    pattern: (e) =>
      view(
        `Option one: ${clean(e.choice1)} Option two: ${clean(e.choice2)}`,
        `${noFinalPunct(clean(e.premise))} ${copaJoiner(e.question)} option ${MASK}.`,
      ),
    verbalizer: ['one', 'two'],
  },
  MultiRC: {
    source: 'PET MultiRcPVP pattern 0: "{passage}. Question: {question}? Is it {answer}? {mask}." with No/Yes',
    classify: (e) => view(clean(e.passage), `${clean(e.question)} ${clean(e.answer)}`),
    pattern: (e) => view(`${clean(e.passage)}. Question: ${clean(e.question)}? Is it ${clean(e.answer)}? ${MASK}.`),
    verbalizer: ['No', 'Yes'],
  },
  WiC: {
    source: 'PET WicPVP pattern 0: \'"{sentence1}" / "{sentence2}" Similar sense of "{word}"? {mask}.\' with No/Yes',
    // The word leads the first segment so the classifier sees which word is asked about (ours).
    classify: (e) => view(`${clean(e.word)}: ${clean(e.sentence1)}`, clean(e.sentence2)),
    pattern: (e) =>
      view(`"${clean(e.sentence1)}" / "${clean(e.sentence2)}" Similar sense of "${clean(e.word)}"? ${MASK}.`),
    verbalizer: ['No', 'Yes'],
  },
  // PET scores WSC generatively (the MASK spells out the referent), which needs multi-token decoding. Ours
  // keeps PET's *pronoun* marking and turns the question into a yes/no cloze over the given candidate.
  WSC: {
    source: 'adapted from PET WscPVP ("*pronoun*" marking) as a yes/no question, verbalizer No/Yes',
    classify: (e) =>
      view(clean(markToken(e.text, e.span2.index)), `Does "${clean(e.span2.text)}" refer to "${clean(e.span1.text)}"?`),
    pattern: (e) =>
      view(
        `${clean(markToken(e.text, e.span2.index))} Question: Does the pronoun "*${clean(e.span2.text)}*" refer to ` +
          `"${clean(e.span1.text)}"? Answer: ${MASK}.`,
      ),
    verbalizer: ['No', 'Yes'],
  },
};

function copaJoiner(question: 'cause' | 'effect'): string {
  return question === 'cause' ? 'because' : 'so';
}

// The correlated-union problem (TEMPLATES[e.task] applied to e) needs a switch to typecheck.
function templateOf(e: TaskExample): { readonly classify: () => TextView; readonly pattern: () => TextView } {
  switch (e.task) {
    case 'BoolQ':
      return { classify: () => TEMPLATES.BoolQ.classify(e), pattern: () => TEMPLATES.BoolQ.pattern(e) };
    case 'CB':
      return { classify: () => TEMPLATES.CB.classify(e), pattern: () => TEMPLATES.CB.pattern(e) };
    case 'COPA':
      return { classify: () => TEMPLATES.COPA.classify(e), pattern: () => TEMPLATES.COPA.pattern(e) };
    case 'MultiRC':
      return { classify: () => TEMPLATES.MultiRC.classify(e), pattern: () => TEMPLATES.MultiRC.pattern(e) };
    case 'RTE':
      return { classify: () => TEMPLATES.RTE.classify(e), pattern: () => TEMPLATES.RTE.pattern(e) };
    case 'WiC':
      return { classify: () => TEMPLATES.WiC.classify(e), pattern: () => TEMPLATES.WiC.pattern(e) };
    case 'WSC':
      return { classify: () => TEMPLATES.WSC.classify(e), pattern: () => TEMPLATES.WSC.pattern(e) };
  }
}

/** Classifier-head input of any task's example. */
export const classificationView = (e: TaskExample): TextView => templateOf(e).classify();

/** Cloze input of any task's example (exactly one MASK). */
export const patternView = (e: TaskExample): TextView => templateOf(e).pattern();

export const verbalizerFor = (task: TaskName): readonly string[] => TEMPLATES[task].verbalizer;

/** Occurrences of MASK in a view; the tokenizer expects exactly 1 in a pattern view. */
export const countMask = (v: TextView): number =>
  v.text.split(MASK).length - 1 + (v.textPair === undefined ? 0 : v.textPair.split(MASK).length - 1);

/** Replaces MASK with the model's mask token (e.g. "[MASK]" for BERT, "<mask>" for RoBERTa). */
export const fillMask = (v: TextView, maskToken: string): TextView =>
  view(v.text.replaceAll(MASK, maskToken), v.textPair?.replaceAll(MASK, maskToken));

/**
 * User pattern: `{name}` placeholders filled from `fields`, `{mask}` kept. Throws on an unknown placeholder
 * or a mask count other than 1, since a pattern is program input, not data.
 */
export function renderPattern(pattern: string, fields: Readonly<Record<string, string>>): string {
  if (pattern.split(MASK).length - 1 !== 1) throw new Error(`pattern must contain exactly one ${MASK}: ${pattern}`);
  return pattern.replace(/\{(\w+)\}/g, (whole, name: string) => {
    if (whole === MASK) return MASK;
    const value = fields[name];
    if (value === undefined)
      throw new Error(`pattern placeholder {${name}} has no field (have: ${Object.keys(fields).join(', ')})`);
    return clean(value);
  });
}

/** Verbalizer sanity: one word per class of the task. */
export const verbalizerMatchesLabels = (task: TaskName): boolean =>
  TEMPLATES[task].verbalizer.length === LABELS[task].length;
