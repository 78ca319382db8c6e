/**
 * What the training loop needs from a tokenizer: pad a batch of text views to host id arrays, the mask
 * token (for cloze views) and single-token ids of verbalizer words. A thin view of models/bert/tokenizer/tokenizer.ts.
 */
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { TaskEither } from 'fp-ts/lib/TaskEither.js';
import type { TextView } from '../data/index.ts';
import type { LoadError } from '../models/bert/load-error.ts';
import { loadTokenizer, type PgTokenizer } from '../models/bert/tokenizer/tokenizer.ts';

export interface HostBatch {
  readonly B: number;
  readonly T: number;
  readonly inputIds: Int32Array;
  readonly attentionMask: Int32Array;
  readonly tokenTypeIds: Int32Array;
}

export interface PromptTokenizer {
  readonly maskToken: string;
  readonly maskTokenId: number;
  /** Padded to the longest row, each row truncated longest-first to maxLength (special tokens kept). */
  encodeBatch(views: readonly TextView[], maxLength: number): HostBatch;
  /** Id of `word` as one token (also tried with a leading space, for BPE); undefined when it splits. */
  wordId(word: string): number | undefined;
}

export function promptTokenizerOf(tok: PgTokenizer): PromptTokenizer {
  return {
    maskToken: tok.maskToken,
    maskTokenId: tok.maskId,
    encodeBatch(views, maxLength) {
      const items = views.map((v) => (v.textPair === undefined ? v.text : ([v.text, v.textPair] as const)));
      const b = tok.encodeBatch(items, { maxLength, truncation: 'longest_first' });
      return {
        B: b.batchSize,
        T: b.seqLen,
        inputIds: b.inputIds,
        attentionMask: b.attentionMask,
        tokenTypeIds: b.tokenTypeIds,
      };
    },
    wordId(word) {
      for (const w of tok.family === 'roberta' ? [` ${word}`, word] : [word]) {
        const ids = tok.encode(w, undefined, { addSpecialTokens: false }).inputIds;
        if (ids.length === 1) return ids[0];
      }
      return undefined;
    },
  };
}

export const loadPromptTokenizer = (folder: string): TaskEither<LoadError, PromptTokenizer> =>
  pipe(loadTokenizer(folder), TE.map(promptTokenizerOf));
