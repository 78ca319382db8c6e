/**
 * Pretraining text: the corpus files (one paragraph per line, documents separated by an empty line)
 * cut into passages of at most `passageParagraphs` paragraphs, a deterministic held-out slice of
 * passages (never trained on), optional FewGLUE train/dev32 texts (never val), and packing of
 * token ids into fixed-length rows `[CLS] … [SEP]` (passages joined by [SEP] in the stream).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { PgTokenizer } from '../models/bert/tokenizer/tokenizer.ts';

export interface Passage {
  readonly source: string;
  readonly paragraphs: readonly string[];
}

export interface CorpusSplit {
  readonly train: readonly Passage[];
  readonly heldOut: readonly Passage[];
}

/** 32-bit integer hash (murmur3 finaliser) for deterministic selection and shuffles. */
export function hash32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Splits a corpus file's text into passages of ≤ `maxParagraphs` consecutive paragraphs of one document. */
export function passagesOf(text: string, source: string, maxParagraphs: number): Passage[] {
  const out: Passage[] = [];
  for (const doc of text.split('\n\n')) {
    const paras = doc.split('\n').filter((l) => l.trim() !== '');
    for (let i = 0; i < paras.length; i += maxParagraphs)
      out.push({ source, paragraphs: paras.slice(i, i + maxParagraphs) });
  }
  return out;
}

/** Every string of ≥ 20 characters in FewGLUE `train.jsonl` / `dev32.jsonl` rows (val is never read). */
export function fewglueTexts(root: string): Either<string, Passage[]> {
  const out: Passage[] = [];
  const strings = (v: unknown, acc: string[]): string[] => {
    if (typeof v === 'string') {
      if (v.length >= 20) acc.push(v);
    } else if (Array.isArray(v)) for (const e of v) strings(e, acc);
    else if (typeof v === 'object' && v !== null) for (const e of Object.values(v)) strings(e, acc);
    return acc;
  };
  try {
    for (const task of readdirSync(root).sort()) {
      for (const split of ['train', 'dev32']) {
        const f = join(root, task, `${split}.jsonl`);
        if (!existsSync(f)) continue;
        for (const line of readFileSync(f, 'utf8').split('\n')) {
          if (!line.trim()) continue;
          const paras = [...new Set(strings(JSON.parse(line) as unknown, []))];
          if (paras.length) out.push({ source: `fewglue/${task}/${split}`, paragraphs: paras });
        }
      }
    }
  } catch (e) {
    return E.left(`${root}: cannot read FewGLUE texts (${e instanceof Error ? e.message : String(e)})`);
  }
  return E.right(out);
}

export interface CorpusOptions {
  readonly files: readonly string[];
  readonly fewglueRoot?: string;
  readonly passageParagraphs?: number;
  /** One passage in `heldOutEvery` (by hash of its index and the seed) is held out; default 200. */
  readonly heldOutEvery?: number;
  readonly seed: number;
}

/** Reads the corpus files and splits passages into train / held-out (FewGLUE texts only ever train). */
export function loadCorpus(o: CorpusOptions): Either<string, CorpusSplit> {
  const train: Passage[] = [],
    heldOut: Passage[] = [];
  const every = o.heldOutEvery ?? 200;
  let idx = 0;
  for (const f of o.files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      return E.left(`${f}: cannot read (${e instanceof Error ? e.message : String(e)})`);
    }
    for (const p of passagesOf(text, f, o.passageParagraphs ?? 20)) {
      (hash32(idx++ ^ hash32(o.seed)) % every === 0 ? heldOut : train).push(p);
    }
  }
  if (o.fewglueRoot) {
    const fg = fewglueTexts(o.fewglueRoot);
    if (E.isLeft(fg)) return fg;
    train.push(...fg.right);
  }
  return E.right({ train, heldOut });
}

/** A seeded permutation of 0..n-1 (Fisher–Yates over hash32). */
export function permutation(n: number, seed: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  let s = hash32(seed ^ 0x5bd1e995);
  for (let i = n - 1; i > 0; i--) {
    s = hash32(s + i);
    const j = s % (i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/**
 * Token ids of passages (in the given order) packed into rows of `seqLen`: `[CLS] t… [SEP]`, the
 * stream separating passages by [SEP]. Stops once `maxRows` rows are full. Tokenization is the
 * tokenizer module's (models/bert/tokenizer/tokenizer.ts).
 */
export function packRows(
  tok: PgTokenizer,
  passages: readonly Passage[],
  order: ArrayLike<number>,
  seqLen: number,
  maxRows: number,
  onProgress?: (rows: number) => void,
): Int32Array {
  const body = seqLen - 2;
  const rows: number[] = [];
  let buf: number[] = [];
  const flush = () => {
    while (buf.length >= body && rows.length / seqLen < maxRows) {
      rows.push(tok.clsId, ...buf.slice(0, body), tok.sepId);
      buf = buf.slice(body);
    }
  };
  for (let i = 0; i < order.length && rows.length / seqLen < maxRows; i++) {
    const p = passages[order[i]!]!;
    for (const para of p.paragraphs) {
      for (const t of tok.tokenize(para)) buf.push(tok.tokenToId(t) ?? tok.unkId);
    }
    buf.push(tok.sepId);
    flush();
    if (onProgress && i % 500 === 0) onProgress(rows.length / seqLen);
  }
  return Int32Array.from(rows);
}
