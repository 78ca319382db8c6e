/** io-ts codecs for the raw FewGLUE JSON records (fields per the fewglue README) and their conversion to examples. */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { dataError, fromValidation } from '../errors.ts';
import type { DataError } from '../errors.ts';
import { LABELS } from './types.ts';
import type { ExampleOf, TaskName } from './types.ts';

/** A codec accepting exactly the given JSON scalars; its name lists them so errors read `expected 0 | 1`. */
function oneOf<V extends string | number | boolean>(...values: readonly V[]): t.Type<V, V, unknown> {
  const is = (u: unknown): u is V => values.includes(u as V);
  return new t.Type<V, V, unknown>(
    values.map((v) => JSON.stringify(v)).join(' | '),
    is,
    (u, c) => (is(u) ? t.success(u) : t.failure(u, c)),
    t.identity,
  );
}

const index = new t.Type<number, number, unknown>(
  'non-negative integer',
  (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= 0,
  (u, c) => (typeof u === 'number' && Number.isInteger(u) && u >= 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

const BoolQRaw = t.type({ idx: index, question: t.string, passage: t.string, label: t.boolean });
// Flat t.type (no t.intersection) so error paths carry no member indices.
const CBRaw = t.type({ idx: index, premise: t.string, hypothesis: t.string, label: oneOf(...LABELS.CB) });
const RTERaw = t.type({ idx: index, premise: t.string, hypothesis: t.string, label: oneOf(...LABELS.RTE) });
const COPARaw = t.type({
  idx: index,
  premise: t.string,
  choice1: t.string,
  choice2: t.string,
  question: oneOf('cause', 'effect'),
  label: oneOf(0, 1),
});
const WiCRaw = t.type({
  idx: index,
  word: t.string,
  sentence1: t.string,
  sentence2: t.string,
  start1: index,
  end1: index,
  start2: index,
  end2: index,
  label: t.boolean,
});
const WSCRaw = t.type({
  idx: index,
  text: t.string,
  label: t.boolean,
  target: t.type({ span1_index: index, span1_text: t.string, span2_index: index, span2_text: t.string }),
});
const MultiRCRaw = t.type({
  idx: index,
  passage: t.type({
    text: t.string,
    questions: t.array(
      t.type({
        idx: index,
        question: t.string,
        answers: t.array(t.type({ idx: index, text: t.string, label: oneOf(0, 1) })),
      }),
    ),
  }),
});

/** Turns one parsed JSON value (line `line` of `file`) into zero or more examples. */
export type RecordDecoder<T extends TaskName> = (
  file: string,
  value: unknown,
  line: number,
) => Either<DataError, readonly ExampleOf<T>[]>;

const decodeWith = <A>(
  codec: t.Decoder<unknown, A>,
  file: string,
  value: unknown,
  line: number,
): Either<DataError, A> => E.mapLeft((errs: t.Errors) => fromValidation(file, line, errs))(codec.decode(value));

/** Offsets must lie inside the sentence; a bad pair would silently mark the wrong word later. */
function checkOffsets(
  file: string,
  line: number,
  n: 1 | 2,
  start: number,
  end: number,
  sentence: string,
): DataError | undefined {
  if (start <= end && end <= sentence.length) return undefined;
  return dataError(
    'field',
    file,
    `offsets [${start}, ${end}) do not fit sentence${n} of length ${sentence.length}`,
    line,
    `end${n}`,
  );
}

/** Span indices count whitespace tokens; an index past the end cannot be marked. (Val idx 42 points at a wrong but valid token: kept, see README.) */
function checkSpan(file: string, line: number, n: 1 | 2, i: number, text: string): DataError | undefined {
  const tokens = text.split(/\s+/).filter((w) => w !== '').length;
  if (i < tokens) return undefined;
  return dataError(
    'field',
    file,
    `token index ${i} is past the end of text (${tokens} whitespace tokens)`,
    line,
    `target.span${n}_index`,
  );
}

const one = <A>(file: string, line: number, check: DataError | undefined, a: A): Either<DataError, readonly A[]> =>
  check === undefined ? E.right([a]) : E.left(check);

export const DECODERS: { readonly [T in TaskName]: RecordDecoder<T> } = {
  BoolQ: (file, v, line) =>
    E.map((r: t.TypeOf<typeof BoolQRaw>) => [
      {
        task: 'BoolQ' as const,
        idx: r.idx,
        line,
        label: r.label ? 1 : 0,
        passage: r.passage,
        question: r.question,
      },
    ])(decodeWith(BoolQRaw, file, v, line)),

  CB: (file, v, line) =>
    E.map((r: t.TypeOf<typeof CBRaw>) => [
      {
        task: 'CB' as const,
        idx: r.idx,
        line,
        label: LABELS.CB.indexOf(r.label),
        premise: r.premise,
        hypothesis: r.hypothesis,
      },
    ])(decodeWith(CBRaw, file, v, line)),

  RTE: (file, v, line) =>
    E.map((r: t.TypeOf<typeof RTERaw>) => [
      {
        task: 'RTE' as const,
        idx: r.idx,
        line,
        label: LABELS.RTE.indexOf(r.label),
        premise: r.premise,
        hypothesis: r.hypothesis,
      },
    ])(decodeWith(RTERaw, file, v, line)),

  COPA: (file, v, line) =>
    E.map((r: t.TypeOf<typeof COPARaw>) => [
      {
        task: 'COPA' as const,
        idx: r.idx,
        line,
        label: r.label,
        premise: r.premise,
        choice1: r.choice1,
        choice2: r.choice2,
        question: r.question,
      },
    ])(decodeWith(COPARaw, file, v, line)),

  WiC: (file, v, line) =>
    E.flatMap(decodeWith(WiCRaw, file, v, line), (r) =>
      one(
        file,
        line,
        checkOffsets(file, line, 1, r.start1, r.end1, r.sentence1) ??
          checkOffsets(file, line, 2, r.start2, r.end2, r.sentence2),
        {
          task: 'WiC' as const,
          idx: r.idx,
          line,
          label: r.label ? 1 : 0,
          word: r.word,
          sentence1: r.sentence1,
          sentence2: r.sentence2,
          start1: r.start1,
          end1: r.end1,
          start2: r.start2,
          end2: r.end2,
        },
      ),
    ),

  WSC: (file, v, line) =>
    E.flatMap(decodeWith(WSCRaw, file, v, line), (r) =>
      one(
        file,
        line,
        checkSpan(file, line, 1, r.target.span1_index, r.text) ??
          checkSpan(file, line, 2, r.target.span2_index, r.text),
        {
          task: 'WSC' as const,
          idx: r.idx,
          line,
          label: r.label ? 1 : 0,
          text: r.text,
          span1: { text: r.target.span1_text, index: r.target.span1_index },
          span2: { text: r.target.span2_text, index: r.target.span2_index },
        },
      ),
    ),

  // One record per passage; flattened to one example per answer option, grouped by question idx.
  MultiRC: (file, v, line) =>
    E.map((r: t.TypeOf<typeof MultiRCRaw>) =>
      r.passage.questions.flatMap((q) =>
        q.answers.map((a) => ({
          task: 'MultiRC' as const,
          idx: a.idx,
          line,
          label: a.label,
          passageIdx: r.idx,
          questionIdx: q.idx,
          group: q.idx,
          passage: r.passage.text,
          question: q.question,
          answer: a.text,
        })),
      ),
    )(decodeWith(MultiRCRaw, file, v, line)),
};
