/**
 * The tokenizer: @huggingface/tokenizers (transformers.js) does normalisation, pre-tokenisation
 * and the WordPiece / BPE model; special tokens, token types, truncation and padding are done in
 * tokenizer-post.ts to match the Rust library transformers runs. A folder's tokenizer.json is
 * used when present, else one is built from the classic files (tokenizer-classic.ts).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { TaskEither } from 'fp-ts/lib/TaskEither.js';
import { isNotFound } from '../../../io/files.ts';
import { joinPath as join, platformFiles } from '../../../io/platform.ts';
import { fromThrown, loadError, preview } from '../load-error.ts';
import type { LoadError } from '../load-error.ts';
import { bertTokenizerJson, resolveSpecials, robertaTokenizerJson } from './tokenizer-classic.ts';
import type { Family, SpecialNames } from './tokenizer-classic.ts';
import { checkTokenizerJson } from './tokenizer-json.ts';
import { addedTokenCount, parsePostProcessor, truncatedLengths } from './tokenizer-post.ts';
import type { PostProcessor, TruncationStrategy } from './tokenizer-post.ts';

export type { TruncationStrategy } from './tokenizer-post.ts';

export interface EncodeOptions {
  /** Total length including special tokens. Given alone it implies 'longest_first', as in transformers. */
  readonly maxLength?: number;
  /** true = 'longest_first'; without maxLength the tokenizer's model_max_length is used. */
  readonly truncation?: TruncationStrategy | boolean;
  readonly addSpecialTokens?: boolean;
}

export interface Encoding {
  readonly inputIds: readonly number[];
  readonly attentionMask: readonly number[];
  readonly tokenTypeIds: readonly number[];
  readonly tokens: readonly string[];
  /** 1 where the post-processor added the token ([CLS], [SEP], <s>, </s>). */
  readonly specialTokensMask: readonly number[];
}

export interface BatchOptions extends EncodeOptions {
  /** 'longest' (default): pad to the longest row; {maxLength}: pad every row to exactly that. */
  readonly padding?: 'longest' | { readonly maxLength: number };
}

/** Right-padded rows, row-major [batchSize, seqLen], as the encoder consumes them. */
export interface BatchEncoding {
  readonly batchSize: number;
  readonly seqLen: number;
  readonly inputIds: Int32Array;
  readonly attentionMask: Int32Array;
  readonly tokenTypeIds: Int32Array;
  /** Unpadded length of each row. */
  readonly lengths: readonly number[];
  readonly encodings: readonly Encoding[];
}

export type BatchItem = string | readonly [string, string];

export interface PgTokenizer {
  readonly family: Family;
  readonly source: 'tokenizer.json' | 'classic';
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly maskId: number;
  readonly unkId: number;
  readonly specials: SpecialNames;
  readonly maskToken: string;
  /** tokenizer_config's model_max_length when it is a real limit. */
  readonly modelMaxLength: number | undefined;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Tokens of one text, without special tokens. */
  tokenize(text: string): string[];
  numSpecialTokens(pair: boolean): number;
  encode(text: string, pair?: string, opts?: EncodeOptions): Encoding;
  encodeBatch(items: readonly BatchItem[], opts?: BatchOptions): BatchEncoding;
  decode(ids: ArrayLike<number>, opts?: { readonly skipSpecialTokens?: boolean }): string;
}

const isObj = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);
const isId = (u: unknown): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0;

class HfTokenizer implements PgTokenizer {
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly maskId: number;
  readonly unkId: number;
  readonly vocabSize: number;
  readonly maskToken: string;

  constructor(
    private readonly lib: Tokenizer,
    private readonly post: PostProcessor,
    readonly family: Family,
    readonly source: 'tokenizer.json' | 'classic',
    readonly specials: SpecialNames,
    ids: Readonly<Record<keyof SpecialNames, number>>,
    readonly modelMaxLength: number | undefined,
  ) {
    this.clsId = ids.cls;
    this.sepId = ids.sep;
    this.padId = ids.pad;
    this.maskId = ids.mask;
    this.unkId = ids.unk;
    this.maskToken = specials.mask;
    this.vocabSize = lib.get_vocab(true).size;
  }

  tokenToId(token: string): number | undefined {
    return this.lib.token_to_id(token);
  }
  idToToken(id: number): string | undefined {
    return this.lib.id_to_token(id);
  }
  tokenize(text: string): string[] {
    return this.lib.tokenize(text);
  }
  numSpecialTokens(pair: boolean): number {
    return addedTokenCount(this.post, pair);
  }

  encode(text: string, pair?: string, opts: EncodeOptions = {}): Encoding {
    const add = opts.addSpecialTokens ?? true;
    const a = this.tokenize(text);
    const b = pair === undefined ? undefined : this.tokenize(pair);
    const strategy: TruncationStrategy | undefined =
      opts.truncation === false
        ? undefined
        : typeof opts.truncation === 'string'
          ? opts.truncation
          : opts.truncation === true || opts.maxLength !== undefined
            ? 'longest_first'
            : undefined;
    let [na, nb] = [a.length, b?.length ?? 0];
    if (strategy) {
      const max = opts.maxLength ?? this.modelMaxLength;
      if (max === undefined || !Number.isSafeInteger(max) || max < 0)
        throw new Error(`encode: truncation needs a non-negative integer maxLength (got ${String(max)})`);
      const extra = add ? this.numSpecialTokens(b !== undefined) : 0;
      if (max < extra) throw new Error(`encode: maxLength ${max} cannot hold the ${extra} special tokens`);
      [na, nb] = truncatedLengths(na, b?.length, max - extra, strategy);
    }
    const tokens: string[] = [];
    const ids: number[] = [];
    const types: number[] = [];
    const special: number[] = [];
    const pushSeq = (toks: readonly string[], n: number, typeId: number) => {
      for (const t of toks.slice(0, n)) {
        tokens.push(t);
        ids.push(this.lib.token_to_id(t) ?? this.unkId);
        types.push(typeId);
        special.push(0);
      }
    };
    if (!add) {
      pushSeq(a, na, 0);
      if (b) pushSeq(b, nb, this.post.plainPairTypeId);
    } else {
      for (const piece of b ? this.post.pair : this.post.single) {
        if (piece.kind === 'seq')
          pushSeq(piece.which === 'A' ? a : (b ?? []), piece.which === 'A' ? na : nb, piece.typeId);
        else
          piece.ids.forEach((id, i) => {
            tokens.push(piece.tokens[i]!);
            ids.push(id);
            types.push(piece.typeId);
            special.push(1);
          });
      }
    }
    return { inputIds: ids, attentionMask: ids.map(() => 1), tokenTypeIds: types, tokens, specialTokensMask: special };
  }

  encodeBatch(items: readonly BatchItem[], opts: BatchOptions = {}): BatchEncoding {
    const padding = opts.padding ?? 'longest';
    const fixed = padding === 'longest' ? undefined : padding.maxLength;
    if (fixed !== undefined && (!Number.isSafeInteger(fixed) || fixed < 0))
      throw new Error(`encodeBatch: padding maxLength must be a non-negative integer, got ${fixed}`);
    // Padding to a fixed length implies truncating to it, unless told otherwise.
    const encOpts: EncodeOptions =
      fixed !== undefined && opts.maxLength === undefined && opts.truncation !== false
        ? { ...opts, maxLength: fixed }
        : opts;
    const encodings = items.map((it) =>
      typeof it === 'string' ? this.encode(it, undefined, encOpts) : this.encode(it[0], it[1], encOpts),
    );
    const lengths = encodings.map((e) => e.inputIds.length);
    const seqLen = fixed ?? Math.max(0, ...lengths);
    const over = lengths.findIndex((n) => n > seqLen);
    if (over >= 0)
      throw new Error(`encodeBatch: row ${over} has ${lengths[over]} tokens, more than the padding length ${seqLen}`);
    const n = items.length * seqLen;
    const inputIds = new Int32Array(n).fill(this.padId);
    const attentionMask = new Int32Array(n);
    const tokenTypeIds = new Int32Array(n);
    encodings.forEach((e, r) => {
      inputIds.set(e.inputIds, r * seqLen);
      attentionMask.set(e.attentionMask, r * seqLen);
      tokenTypeIds.set(e.tokenTypeIds, r * seqLen);
    });
    return { batchSize: items.length, seqLen, inputIds, attentionMask, tokenTypeIds, lengths, encodings };
  }

  decode(ids: ArrayLike<number>, opts: { readonly skipSpecialTokens?: boolean } = {}): string {
    const list = Array.from(ids);
    if (!list.every((i) => Number.isSafeInteger(i))) throw new Error('decode: ids must be integers');
    if (list.length === 0) return '';
    return this.lib.decode(list, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }
}

const familyOf = (json: Record<string, unknown>): Family =>
  (json['model'] as { type?: unknown }).type === 'BPE' ? 'roberta' : 'bert';

/**
 * A tokenizer from a parsed tokenizer.json (or a classic-files equivalent) and tokenizer_config
 * contents. `file` names the source in errors.
 */
export function tokenizerFromJson(
  json: unknown,
  tokenizerConfig: unknown,
  file: string,
  opts: { readonly source?: 'tokenizer.json' | 'classic'; readonly specialTokensMap?: unknown } = {},
): Either<LoadError, PgTokenizer> {
  const fail = (detail: string) => E.left(loadError('tokenizer', file, detail));
  const problem = checkTokenizerJson(json);
  if (problem !== undefined) return fail(problem);
  if (tokenizerConfig !== undefined && !isObj(tokenizerConfig))
    return fail(`tokenizer_config must be a JSON object, got ${preview(tokenizerConfig)}`);
  const tj = json as Record<string, unknown>;
  let post: PostProcessor;
  try {
    post = parsePostProcessor(tj['post_processor']);
  } catch (e) {
    return E.left(fromThrown('tokenizer', file, 'post_processor', e));
  }
  const family = familyOf(tj);
  const postNames: Record<string, string> = {};
  const pp = tj['post_processor'];
  if (isObj(pp) && Array.isArray(pp['cls']) && Array.isArray(pp['sep']))
    Object.assign(postNames, { cls_token: pp['cls'][0], sep_token: pp['sep'][0] });
  const specials = resolveSpecials(family, tokenizerConfig, opts.specialTokensMap, postNames);
  // The library gets no post_processor: we add special tokens ourselves (see tokenizer-post.ts).
  const libJson = {
    normalizer: null,
    pre_tokenizer: null,
    decoder: null,
    ...tj,
    added_tokens: tj['added_tokens'] ?? [],
    post_processor: null,
  };
  let lib: Tokenizer;
  try {
    lib = new Tokenizer(libJson, tokenizerConfig ?? {});
    lib.encode('Hello, world! 123'); // smoke test: a config the library half-accepts fails here, not later
  } catch (e) {
    return E.left(fromThrown('tokenizer', file, 'the tokenizer library rejected it', e));
  }
  const ids: Partial<Record<keyof SpecialNames, number>> = {};
  const missing: string[] = [];
  for (const k of ['cls', 'sep', 'pad', 'mask', 'unk'] as const) {
    const id = lib.token_to_id(specials[k]);
    if (id === undefined) missing.push(`${k} ${JSON.stringify(specials[k])}`);
    else ids[k] = id;
  }
  if (missing.length) return fail(`special tokens not in the vocabulary: ${missing.join(', ')}`);
  const mml = isObj(tokenizerConfig) ? tokenizerConfig['model_max_length'] : undefined;
  // transformers writes 1e30 (VERY_LARGE_INTEGER) for "no limit".
  const modelMaxLength = isId(mml) && mml <= 1_000_000 ? mml : undefined;
  return E.right(
    new HfTokenizer(
      lib,
      post,
      family,
      opts.source ?? 'tokenizer.json',
      specials,
      ids as Record<keyof SpecialNames, number>,
      modelMaxLength,
    ),
  );
}

type Read = { readonly path: string; readonly text: string } | undefined;
async function readOptional(path: string): Promise<Either<LoadError, Read>> {
  try {
    return E.right({ path, text: await platformFiles.readText(path) });
  } catch (e) {
    if (isNotFound(e)) return E.right(undefined);
    return E.left(fromThrown('io', path, 'cannot read', e));
  }
}
function parseJson(r: Read): Either<LoadError, unknown> {
  if (!r) return E.right(undefined);
  try {
    return E.right(JSON.parse(r.text) as unknown);
  } catch (e) {
    return E.left(fromThrown('tokenizer', r.path, 'not valid JSON', e));
  }
}

/** Loads a folder's tokenizer: tokenizer.json if present, else vocab.txt (BERT) or vocab.json + merges.txt (RoBERTa). */
export function loadTokenizer(folder: string): TaskEither<LoadError, PgTokenizer> {
  return async () => {
    const files = [
      'tokenizer.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
      'vocab.txt',
      'vocab.json',
      'merges.txt',
    ] as const;
    const read: Record<string, Read> = {};
    for (const f of files) {
      const r = await readOptional(join(folder, f));
      if (E.isLeft(r)) return r;
      read[f] = r.right;
    }
    const tcfg = parseJson(read['tokenizer_config.json']);
    if (E.isLeft(tcfg)) return tcfg;
    const smap = parseJson(read['special_tokens_map.json']);
    if (E.isLeft(smap)) return smap;
    const tj = read['tokenizer.json'];
    if (tj) {
      const json = parseJson(tj);
      if (E.isLeft(json)) return json;
      return tokenizerFromJson(json.right, tcfg.right, tj.path, { specialTokensMap: smap.right });
    }
    const vocabTxt = read['vocab.txt'];
    const vocabJson = read['vocab.json'];
    const merges = read['merges.txt'];
    const family: Family | undefined = vocabTxt ? 'bert' : vocabJson && merges ? 'roberta' : undefined;
    if (!family)
      return E.left(loadError('tokenizer', folder, 'no tokenizer.json, vocab.txt, or vocab.json + merges.txt'));
    const names = resolveSpecials(family, tcfg.right, smap.right);
    const file = family === 'bert' ? vocabTxt!.path : vocabJson!.path;
    let built: Record<string, unknown>;
    try {
      if (family === 'bert') {
        built = bertTokenizerJson(vocabTxt!.text, tcfg.right, names);
      } else {
        const vj = parseJson(vocabJson);
        if (E.isLeft(vj)) return vj;
        built = robertaTokenizerJson(vj.right, merges!.text, tcfg.right, names);
      }
    } catch (e) {
      return E.left(fromThrown('tokenizer', file, 'cannot build a tokenizer from the classic files', e));
    }
    return tokenizerFromJson(built, tcfg.right, file, { source: 'classic', specialTokensMap: smap.right });
  };
}
