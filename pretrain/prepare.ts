/**
 * Data preparation for a pretraining run, cached in the run folder so a resumed run sees the same
 * data: the WordPiece vocabulary (vocab.txt, trained on the training passages only), then the
 * packed train rows and held-out rows (Int32 little-endian files). Everything is a deterministic
 * function of the corpus, the seed and the sizes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { PgTokenizer } from '../models/bert/tokenizer/tokenizer.ts';
import { writeFileAtomic, type AtomicWriteOptions } from '../training/atomic-file.ts';
import { loadCorpus, packRows, permutation, type CorpusSplit } from './corpus.ts';
import { tokenizerForVocab } from './tokenizer-files.ts';
import { trainWordPiece, vocabTxt, WordCounter } from './wordpiece-trainer.ts';

export interface PrepareOptions {
  readonly out: string;
  readonly files: readonly string[];
  readonly fewglueRoot?: string;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly seed: number;
  readonly maxTrainRows: number;
  readonly heldOutRows: number;
  readonly log: (msg: string) => void;
  /** Injectable low-level writes of the cached files (failure tests), as in writeFileAtomic. */
  readonly writeOptions?: AtomicWriteOptions;
}

export interface Prepared {
  readonly vocabTxt: string;
  readonly tok: PgTokenizer;
  readonly trainRows: Int32Array;
  readonly heldOutRows: Int32Array;
  readonly passages: { readonly train: number; readonly heldOut: number };
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);
// The cached files are reused whenever they exist, so a part of one (a crash or a full disk mid-write)
// would silently become the next session's data: each is written to a temporary file and renamed.
const writeI32 = (f: string, a: Int32Array, opts?: AtomicWriteOptions) =>
  writeFileAtomic(f, new Uint8Array(a.buffer, a.byteOffset, a.byteLength), opts);
const readI32 = (f: string): Int32Array => {
  const b = readFileSync(f);
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

export function prepare(o: PrepareOptions): Either<string, Prepared> {
  const t0 = performance.now();
  const secs = () => `${((performance.now() - t0) / 1000).toFixed(0)}s`;
  const corpus = loadCorpus({ files: o.files, seed: o.seed, ...(o.fewglueRoot ? { fewglueRoot: o.fewglueRoot } : {}) });
  if (E.isLeft(corpus)) return corpus;
  const { train, heldOut }: CorpusSplit = corpus.right;
  o.log(`corpus: ${train.length} train passages, ${heldOut.length} held-out passages (${secs()})`);

  const vocabFile = join(o.out, 'vocab.txt');
  let vtxt: string;
  if (existsSync(vocabFile)) {
    vtxt = readFileSync(vocabFile, 'utf8');
    o.log(`vocab: reusing ${vocabFile}`);
  } else {
    const wc = new WordCounter();
    for (const p of train) for (const para of p.paragraphs) wc.add(para);
    o.log(`vocab: ${wc.counts.size} distinct words counted (${secs()})`);
    vtxt = vocabTxt(trainWordPiece(wc.counts, { vocabSize: o.vocabSize }));
    writeFileAtomic(vocabFile, vtxt, o.writeOptions);
    o.log(`vocab: ${vtxt.split('\n').length - 1} tokens → ${vocabFile} (${secs()})`);
  }
  const tok = tokenizerForVocab(vtxt, 512, vocabFile);
  if (E.isLeft(tok)) return E.left(`${tok.left.file}: ${tok.left.detail}`);

  const tag = `${sha(vtxt)}-s${o.seed}-t${o.seqLen}`;
  const trainFile = join(o.out, `rows-train-${tag}-n${o.maxTrainRows}.i32`);
  const heldFile = join(o.out, `rows-heldout-${tag}-n${o.heldOutRows}.i32`);
  let trainRows: Int32Array, heldOutRows: Int32Array;
  if (existsSync(trainFile) && existsSync(heldFile)) {
    trainRows = readI32(trainFile);
    heldOutRows = readI32(heldFile);
    o.log(`rows: reusing ${trainFile}`);
  } else {
    heldOutRows = packRows(
      tok.right,
      heldOut,
      Int32Array.from(heldOut, (_, i) => i),
      o.seqLen,
      o.heldOutRows,
    );
    trainRows = packRows(tok.right, train, permutation(train.length, o.seed), o.seqLen, o.maxTrainRows, (n) => {
      if (n > 0 && n % 5000 < 40) o.log(`rows: ${n} packed (${secs()})`);
    });
    writeI32(trainFile, trainRows, o.writeOptions);
    writeI32(heldFile, heldOutRows, o.writeOptions);
    o.log(
      `rows: ${trainRows.length / o.seqLen} train, ${heldOutRows.length / o.seqLen} held-out rows of ${o.seqLen} (${secs()})`,
    );
  }
  if (heldOutRows.length === 0 || trainRows.length === 0)
    return E.left(`prepare: no rows (train ${trainRows.length / o.seqLen}, held-out ${heldOutRows.length / o.seqLen})`);
  return E.right({
    vocabTxt: vtxt,
    tok: tok.right,
    trainRows,
    heldOutRows,
    passages: { train: train.length, heldOut: heldOut.length },
  });
}
