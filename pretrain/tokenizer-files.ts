/**
 * The tokenizer side of an exported folder, as transformers' BertTokenizerFast.save_pretrained
 * writes it: vocab.txt, tokenizer.json (built by models/bert/tokenizer/tokenizer-classic.ts, the slow→fast
 * converter), tokenizer_config.json and special_tokens_map.json — and the PgTokenizer over them,
 * through models/bert/tokenizer/tokenizer.ts (no tokenization code of our own).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { fromThrown, type LoadError } from '../models/bert/load-error.ts';
import { bertTokenizerJson, DEFAULT_SPECIALS } from '../models/bert/tokenizer/tokenizer-classic.ts';
import { tokenizerFromJson, type PgTokenizer } from '../models/bert/tokenizer/tokenizer.ts';
import { SPECIAL_TOKENS } from './wordpiece-trainer.ts';

const NAMES = DEFAULT_SPECIALS.bert;

export function tokenizerConfigJson(modelMaxLength: number): Record<string, unknown> {
  const added = Object.fromEntries(
    SPECIAL_TOKENS.map((t, id) => [
      String(id),
      {
        content: t,
        lstrip: false,
        normalized: false,
        rstrip: false,
        single_word: false,
        special: true,
      },
    ]),
  );
  return {
    added_tokens_decoder: added,
    clean_up_tokenization_spaces: true,
    cls_token: NAMES.cls,
    do_lower_case: true,
    mask_token: NAMES.mask,
    model_max_length: modelMaxLength,
    pad_token: NAMES.pad,
    sep_token: NAMES.sep,
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: NAMES.unk,
  };
}

export const specialTokensMapJson = (): Record<string, string> => ({
  cls_token: NAMES.cls,
  mask_token: NAMES.mask,
  pad_token: NAMES.pad,
  sep_token: NAMES.sep,
  unk_token: NAMES.unk,
});

/** tokenizer.json for a trained vocab.txt (BertConverter's output). */
export const tokenizerJsonFor = (vocabTxt: string, modelMaxLength: number): Record<string, unknown> =>
  bertTokenizerJson(vocabTxt, tokenizerConfigJson(modelMaxLength), NAMES);

/** The tokenizer of a trained vocabulary, exactly as loadTokenizer would build it from the exported folder. */
export function tokenizerForVocab(
  vocabTxt: string,
  modelMaxLength: number,
  file = 'vocab.txt',
): Either<LoadError, PgTokenizer> {
  const tcfg = tokenizerConfigJson(modelMaxLength);
  let json: Record<string, unknown>;
  try {
    json = bertTokenizerJson(vocabTxt, tcfg, NAMES);
  } catch (e) {
    return E.left(fromThrown('tokenizer', file, 'cannot build a tokenizer from the trained vocabulary', e));
  }
  return tokenizerFromJson(json, tcfg, file, { specialTokensMap: specialTokensMapJson() });
}
