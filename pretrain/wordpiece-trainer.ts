/**
 * A WordPiece vocabulary trainer, as Hugging Face tokenizers' WordPieceTrainer does it: words come
 * from the BERT normaliser (lower-case, accent stripping, control-char cleanup, CJK spacing) and
 * the BERT pre-tokenizer (whitespace + punctuation splits) — both taken from the tokenizer library
 * through a tokenizer.json built by models/bert/tokenizer/tokenizer-classic.ts, so training and later
 * tokenization see the same words. Then BPE-style merges over word counts: a word is split into
 * characters, every non-initial one carrying the `##` continuing-subword prefix; the most frequent
 * adjacent pair is merged until the vocabulary is full or no pair reaches `minFrequency`.
 * Deterministic: ties go to the lexicographically smaller pair (left, then right token).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { bertTokenizerJson, DEFAULT_SPECIALS } from '../models/bert/tokenizer/tokenizer-classic.ts';

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
export const PREFIX = '##';

export interface WordPieceTrainerOptions {
  /** Total vocabulary size, specials included (default 8000). */
  readonly vocabSize?: number;
  /** A pair must occur at least this often to be merged (default 2). */
  readonly minFrequency?: number;
  /** Keep only the most frequent characters (default 1000, as HF's BertWordPieceTokenizer). */
  readonly limitAlphabet?: number;
  /** Words longer than this are skipped (WordPiece maps them to [UNK] anyway; default 100). */
  readonly maxInputCharsPerWord?: number;
}

/** Normalise + pre-tokenise with the library's BertNormalizer / BertPreTokenizer. */
export interface WordSplitter {
  words(text: string): string[];
}

export function bertWordSplitter(): WordSplitter {
  const json = bertTokenizerJson(`${SPECIAL_TOKENS.join('\n')}\n`, {}, DEFAULT_SPECIALS.bert);
  const lib = new Tokenizer(json, {});
  const norm = lib.normalizer,
    pre = lib.pre_tokenizer;
  if (!norm || !pre)
    throw new Error('wordpiece-trainer: the tokenizer library built no BertNormalizer / BertPreTokenizer');
  return { words: (text) => pre.pre_tokenize_text(norm.normalize(text)) };
}

/** Word → count over many texts (one call per paragraph keeps memory flat). */
export class WordCounter {
  readonly counts = new Map<string, number>();
  constructor(private readonly splitter: WordSplitter = bertWordSplitter()) {}
  add(text: string): void {
    for (const w of this.splitter.words(text)) this.counts.set(w, (this.counts.get(w) ?? 0) + 1);
  }
}

/** A binary max-heap keyed by (count desc, left asc, right asc), with lazy invalidation. */
class PairHeap {
  private readonly items: [number, number, number][] = []; // [count, a, b] with symbol ids
  constructor(private readonly names: readonly string[]) {}
  private before(x: readonly [number, number, number], y: readonly [number, number, number]): boolean {
    if (x[0] !== y[0]) return x[0] > y[0];
    const [ax, ay] = [this.names[x[1]]!, this.names[y[1]]!];
    if (ax !== ay) return ax < ay;
    return this.names[x[2]]! < this.names[y[2]]!;
  }
  push(e: [number, number, number]): void {
    const h = this.items;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): [number, number, number] | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const pairKey = (a: number, b: number): number => a * 0x200000 + b; // symbol ids < 2^21

/**
 * Learns a vocabulary from word counts: specials, then the alphabet (initial characters and their
 * `##` forms, sorted), then merged tokens in merge order. Returns the tokens in id order
 * (vocab.txt's lines).
 */
export function trainWordPiece(counts: ReadonlyMap<string, number>, opts: WordPieceTrainerOptions = {}): string[] {
  const vocabSize = opts.vocabSize ?? 8000,
    minFrequency = opts.minFrequency ?? 2;
  const limitAlphabet = opts.limitAlphabet ?? 1000,
    maxChars = opts.maxInputCharsPerWord ?? 100;
  if (!Number.isInteger(vocabSize) || vocabSize <= SPECIAL_TOKENS.length)
    throw new RangeError(`trainWordPiece: vocabSize must be an integer > ${SPECIAL_TOKENS.length}, got ${vocabSize}`);
  const words = [...counts.entries()]
    .filter(([w]) => [...w].length <= maxChars)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

  // Alphabet: the `limitAlphabet` most frequent characters (ties by code point), as HF does.
  const charCount = new Map<string, number>();
  for (const [w, c] of words) for (const ch of w) charCount.set(ch, (charCount.get(ch) ?? 0) + c);
  const alphabet = new Set(
    [...charCount.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, limitAlphabet)
      .map(([ch]) => ch),
  );

  const names: string[] = [];
  const ids = new Map<string, number>();
  const intern = (s: string): number => {
    let id = ids.get(s);
    if (id === undefined) {
      id = names.length;
      names.push(s);
      ids.set(s, id);
    }
    return id;
  };
  const vocab: string[] = [...SPECIAL_TOKENS];
  const inVocab = new Set<string>(vocab);
  const addVocab = (t: string) => {
    if (!inVocab.has(t)) {
      inVocab.add(t);
      vocab.push(t);
    }
  };

  // Words as symbol-id arrays (characters outside the alphabet make the word unusable for merges).
  const seqs: number[][] = [];
  const freq: number[] = [];
  const initial = new Set<string>();
  for (const [w, c] of words) {
    const chars = [...w];
    if (!chars.every((ch) => alphabet.has(ch))) continue;
    const syms = chars.map((ch, i) => (i === 0 ? ch : PREFIX + ch));
    for (const s of syms) initial.add(s);
    seqs.push(syms.map(intern));
    freq.push(c);
  }
  for (const s of [...initial].sort()) addVocab(s);

  // Pair statistics: counts and the words each pair occurs in.
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPair = (a: number, b: number, w: number, c: number) => {
    const k = pairKey(a, b);
    pairCount.set(k, (pairCount.get(k) ?? 0) + c);
    if (c > 0) {
      let s = pairWords.get(k);
      if (!s) pairWords.set(k, (s = new Set()));
      s.add(w);
    }
  };
  seqs.forEach((s, w) => {
    for (let i = 0; i + 1 < s.length; i++) addPair(s[i]!, s[i + 1]!, w, freq[w]!);
  });
  const heap = new PairHeap(names);
  for (const [k, c] of pairCount) heap.push([c, Math.floor(k / 0x200000), k % 0x200000]);

  while (vocab.length < vocabSize) {
    const top = heap.pop();
    if (!top) break;
    const [c, a, b] = top;
    const k = pairKey(a, b);
    if (pairCount.get(k) !== c) continue; // stale entry
    if (c < minFrequency) break;
    const right = names[b]!;
    const merged = names[a]! + (right.startsWith(PREFIX) ? right.slice(PREFIX.length) : right);
    const m = intern(merged);
    addVocab(merged);
    const touched = new Set<number>();
    for (const w of pairWords.get(k) ?? []) {
      const s = seqs[w]!,
        f = freq[w]!;
      for (let i = 0; i + 1 < s.length; i++) {
        addPair(s[i]!, s[i + 1]!, w, -f);
        touched.add(pairKey(s[i]!, s[i + 1]!));
      }
      const out: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          out.push(m);
          i++;
        } else out.push(s[i]!);
      }
      seqs[w] = out;
      for (let i = 0; i + 1 < out.length; i++) {
        addPair(out[i]!, out[i + 1]!, w, f);
        touched.add(pairKey(out[i]!, out[i + 1]!));
      }
    }
    pairCount.delete(k);
    pairWords.delete(k);
    touched.delete(k);
    for (const t of touched) {
      const tc = pairCount.get(t);
      if (tc !== undefined && tc > 0) heap.push([tc, Math.floor(t / 0x200000), t % 0x200000]);
    }
  }
  return vocab;
}

/** vocab.txt text: one token per line, id = line number. */
export const vocabTxt = (vocab: readonly string[]): string => `${vocab.join('\n')}\n`;
