/**
 * tokenizer.json equivalents of the classic (slow-tokenizer) files, built the way transformers'
 * convert_slow_tokenizer does (BertConverter, RobertaConverter), plus the special-token names a
 * folder declares. Only pure functions of file contents: reading is tokenizer.ts's job.
 */

export type Family = 'bert' | 'roberta';

export interface SpecialNames {
  readonly cls: string;
  readonly sep: string;
  readonly pad: string;
  readonly mask: string;
  readonly unk: string;
}

export const DEFAULT_SPECIALS: Readonly<Record<Family, SpecialNames>> = {
  bert: { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', mask: '[MASK]', unk: '[UNK]' },
  roberta: { cls: '<s>', sep: '</s>', pad: '<pad>', mask: '<mask>', unk: '<unk>' },
};

const isObj = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

/** A token as tokenizer_config.json / special_tokens_map.json store it: a string or an AddedToken dict. */
export function tokenContent(u: unknown): string | undefined {
  if (typeof u === 'string') return u;
  if (isObj(u) && typeof u['content'] === 'string') return u['content'];
  return undefined;
}

/** Special-token names: tokenizer_config.json, then special_tokens_map.json, then the family default. */
export function resolveSpecials(family: Family, ...sources: readonly unknown[]): SpecialNames {
  const pick = (key: keyof SpecialNames): string => {
    for (const s of sources) {
      const v = isObj(s) ? tokenContent(s[`${key}_token`]) : undefined;
      if (v !== undefined) return v;
    }
    return DEFAULT_SPECIALS[family][key];
  };
  return { cls: pick('cls'), sep: pick('sep'), pad: pick('pad'), mask: pick('mask'), unk: pick('unk') };
}

export interface AddedTokenJson {
  readonly id: number;
  readonly content: string;
  readonly single_word: boolean;
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  readonly normalized: boolean;
  readonly special: boolean;
}

/**
 * Added tokens for a converted tokenizer: tokenizer_config's `added_tokens_decoder` when present
 * (it records lstrip/rstrip exactly), else the named specials found in the vocab (RoBERTa's mask
 * strips left, as RobertaTokenizer declares it) plus additional_special_tokens.
 */
function addedTokens(
  vocab: ReadonlyMap<string, number>,
  names: SpecialNames,
  family: Family,
  tcfg: unknown,
): AddedTokenJson[] {
  const decoder = isObj(tcfg) ? tcfg['added_tokens_decoder'] : undefined;
  const out = new Map<number, AddedTokenJson>();
  if (isObj(decoder)) {
    for (const [idText, v] of Object.entries(decoder)) {
      const id = Number(idText);
      const content = tokenContent(v);
      if (!Number.isSafeInteger(id) || id < 0 || content === undefined || !isObj(v))
        throw new Error(`added_tokens_decoder["${idText}"] must map an integer id to a token`);
      const flag = (k: string, d: boolean) => (typeof v[k] === 'boolean' ? v[k] : d);
      out.set(id, {
        id,
        content,
        single_word: flag('single_word', false),
        lstrip: flag('lstrip', false),
        rstrip: flag('rstrip', false),
        normalized: flag('normalized', false),
        special: flag('special', true),
      });
    }
  } else {
    const extra =
      isObj(tcfg) && Array.isArray(tcfg['additional_special_tokens'])
        ? tcfg['additional_special_tokens'].map(tokenContent)
        : [];
    for (const content of [names.pad, names.unk, names.cls, names.sep, names.mask, names.cls, ...extra]) {
      const id = content === undefined ? undefined : vocab.get(content);
      if (content === undefined || id === undefined) continue;
      const lstrip = family === 'roberta' && content === names.mask;
      out.set(id, { id, content, single_word: false, lstrip, rstrip: false, normalized: false, special: true });
    }
  }
  return [...out.values()].sort((a, b) => a.id - b.id);
}

const bool = (tcfg: unknown, key: string, d: boolean | null): boolean | null =>
  isObj(tcfg) && (typeof tcfg[key] === 'boolean' || tcfg[key] === null) ? tcfg[key] : d;

/** vocab.txt as BertTokenizer reads it: one token per line, id = line number. */
export function parseVocabTxt(text: string): Map<string, number> {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab = new Map<string, number>();
  lines.forEach((tok, i) => vocab.set(tok, i)); // later duplicates win, as in a Python dict
  return vocab;
}

/** BertConverter: BertNormalizer + BertPreTokenizer + WordPiece + [CLS] $A [SEP] ($B:1 [SEP]:1). */
export function bertTokenizerJson(vocabTxt: string, tcfg: unknown, names: SpecialNames): Record<string, unknown> {
  const vocab = parseVocabTxt(vocabTxt);
  const id = (t: string) => {
    const v = vocab.get(t);
    if (v === undefined) throw new Error(`special token ${JSON.stringify(t)} is not in vocab.txt`);
    return v;
  };
  const [clsId, sepId] = [id(names.cls), id(names.sep)];
  id(names.unk);
  const sp = (t: string, typeId: number) => ({ SpecialToken: { id: t, type_id: typeId } });
  const sq = (s: 'A' | 'B', typeId: number) => ({ Sequence: { id: s, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(vocab, names, 'bert', tcfg),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: bool(tcfg, 'tokenize_chinese_chars', true),
      strip_accents: bool(tcfg, 'strip_accents', null),
      lowercase: bool(tcfg, 'do_lower_case', true),
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [sp(names.cls, 0), sq('A', 0), sp(names.sep, 0)],
      pair: [sp(names.cls, 0), sq('A', 0), sp(names.sep, 0), sq('B', 1), sp(names.sep, 1)],
      special_tokens: {
        [names.cls]: { id: names.cls, ids: [clsId], tokens: [names.cls] },
        [names.sep]: { id: names.sep, ids: [sepId], tokens: [names.sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: names.unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab),
    },
  };
}

/** merges.txt: an optional `#version` line, then one `left right` pair per line. */
export function parseMerges(text: string): [string, string][] {
  const lines = text.split('\n');
  const merges: [string, string][] = [];
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '')
      throw new Error(`merges.txt line ${i + 1} is not "left right": ${JSON.stringify(line.slice(0, 40))}`);
    merges.push([parts[0]!, parts[1]!]);
  });
  return merges;
}

/** RobertaConverter: ByteLevel pre-tokenizer + BPE + RobertaProcessing + ByteLevel decoder. */
export function robertaTokenizerJson(
  vocabJson: unknown,
  mergesTxt: string,
  tcfg: unknown,
  names: SpecialNames,
): Record<string, unknown> {
  if (
    !isObj(vocabJson) ||
    !Object.values(vocabJson).every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)
  ) {
    throw new Error('vocab.json must map tokens to non-negative integer ids');
  }
  const vocab = new Map(Object.entries(vocabJson as Record<string, number>));
  const id = (t: string) => {
    const v = vocab.get(t);
    if (v === undefined) throw new Error(`special token ${JSON.stringify(t)} is not in vocab.json`);
    return v;
  };
  const addPrefixSpace = bool(tcfg, 'add_prefix_space', false) ?? false;
  const trimOffsets = bool(tcfg, 'trim_offsets', true) ?? true;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(vocab, names, 'roberta', tcfg),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [names.sep, id(names.sep)],
      cls: [names.cls, id(names.cls)],
      trim_offsets: trimOffsets,
      add_prefix_space: addPrefixSpace,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges: parseMerges(mergesTxt),
    },
  };
}
