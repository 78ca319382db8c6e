/**
 * Writes a trained encoder as a Hugging Face BertForMaskedLM folder, the file set that
 * `save_pretrained` of the model and of BertTokenizerFast produce:
 *   config.json, model.safetensors, tokenizer.json, vocab.txt, tokenizer_config.json,
 *   special_tokens_map.json (+ README.md, the model card).
 * Weights are f32 with HF's names: `bert.` + encoder names, `cls.predictions.*` for the head; the
 * decoder weight and bias are tied (to the word embeddings and `cls.predictions.bias`) and, as HF
 * saves them, omitted. The folder is written atomically (training/atomic-dir.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { TaskEither } from 'fp-ts/lib/TaskEither.js';
import type { BertConfig } from '../models/bert/config.ts';
import { serializeBertConfig } from '../models/bert/config.ts';
import { rawTensor, type RawTensor } from '../models/bert/io/raw-tensor.ts';
import { serializeSafetensors } from '../models/bert/io/safetensors.ts';
import { writeDirAtomic } from '../training/atomic-dir.ts';
import { paramSpec } from './params.ts';
import { specialTokensMapJson, tokenizerConfigJson, tokenizerJsonFor } from './tokenizer-files.ts';

/** The files of an exported folder, README excluded (HF writes none). */
export const HF_FILES = [
  'config.json',
  'model.safetensors',
  'special_tokens_map.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.txt',
] as const;

/** Normalised parameter name → the name BertForMaskedLM's state dict uses. */
export const hfName = (name: string): string => (name.startsWith('cls.') ? name : `bert.${name}`);

export interface ExportInput {
  readonly cfg: BertConfig;
  /** Trained tensors by normalised name (paramSpec(cfg)); f32 or f64 (written as f32). */
  readonly params: readonly RawTensor[];
  readonly vocabTxt: string;
  readonly modelMaxLength: number;
  /** Model card text; omitted when absent. */
  readonly readme?: string;
}

const json = (v: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);

/** The folder's files as bytes; throws naming the tensor when a parameter is missing or misshapen. */
export function hfFiles(x: ExportInput): Map<string, Uint8Array> {
  const byName = new Map(x.params.map((t) => [t.name, t]));
  const tensors = paramSpec(x.cfg).map(([name, shape]) => {
    const t = byName.get(name);
    if (!t) throw new Error(`export-hf: parameter "${name}" [${shape.join(', ')}] is missing`);
    if (t.shape.join() !== shape.join())
      throw new Error(`export-hf: parameter "${name}" is [${t.shape.join(', ')}], config needs [${shape.join(', ')}]`);
    return rawTensor(hfName(name), shape, t.data instanceof Float32Array ? t.data : Float32Array.from(t.data));
  });
  const vocabLines = x.vocabTxt.split('\n').filter((_, i, all) => i < all.length - 1 || all[i] !== '').length;
  if (vocabLines !== x.cfg.vocabSize)
    throw new Error(`export-hf: vocab.txt has ${vocabLines} tokens, config.vocab_size is ${x.cfg.vocabSize}`);
  const files = new Map<string, Uint8Array>([
    ['config.json', new TextEncoder().encode(serializeBertConfig(x.cfg))],
    ['model.safetensors', serializeSafetensors(tensors, { format: 'pt' })],
    ['special_tokens_map.json', json(specialTokensMapJson())],
    ['tokenizer.json', json(tokenizerJsonFor(x.vocabTxt, x.modelMaxLength))],
    ['tokenizer_config.json', json(tokenizerConfigJson(x.modelMaxLength))],
    ['vocab.txt', new TextEncoder().encode(x.vocabTxt)],
  ]);
  if (x.readme !== undefined) files.set('README.md', new TextEncoder().encode(x.readme));
  return files;
}

export interface ExportError {
  readonly _tag: 'ExportError';
  readonly file: string;
  readonly message: string;
}

/** Writes the folder atomically (an existing folder is replaced only once the new one is complete). */
export const exportHf =
  (dir: string, x: ExportInput): TaskEither<ExportError, ReadonlyMap<string, number>> =>
  async () => {
    try {
      const files = hfFiles(x);
      await writeDirAtomic(dir, files);
      return E.right(new Map([...files].map(([k, v]) => [k, v.length])));
    } catch (e) {
      return E.left({
        _tag: 'ExportError',
        file: dir,
        message: `${dir}: not exported (${e instanceof Error ? e.message : String(e)})`,
      });
    }
  };
