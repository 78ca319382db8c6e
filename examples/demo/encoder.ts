/**
 * The demo's encoder and task plumbing, shared by `run-demo.ts` and `examples/train-*.ts`, so they run
 * from a fresh clone with nothing to download:
 *  - `writeTinyRandomBert`: a seeded random BERT (never pretrained) written as a Hugging Face folder,
 *    with a WordPiece vocabulary made of the demo data's own words; the folder is replaced whole
 *    (training/atomic-dir.ts), so a run cut short (Ctrl-C, a full disk) never leaves a part of one that
 *    `promptgrad eval --run` or the next demo would load as a model;
 *  - `demoEncoder`: the pretrained demo encoder in `models/demo-encoder/` when that folder is there
 *    (config.json + model.safetensors + tokenizer.json), else a fresh random one;
 *  - `demoSetup`: a RunConfig on the demo task (`examples/demo/data`) → the loop's task model and data.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { prngKey } from '../../core/index.ts';
import { serializeBertConfig } from '../../models/bert/config.ts';
import { bertConfigFor, randomWeightSource } from '../../models/bert/random-weights.ts';
import { serializeSafetensors } from '../../models/bert/io/safetensors.ts';
import { requiredBertWeights } from '../../models/bert/weight-spec.ts';
import { fsyncWriter, writeDirAtomic, type DurableWriter } from '../../training/atomic-dir.ts';
import { mergeConfig, type RunConfig } from '../../training/run-config.ts';
import { setupRun, type RunSetup } from '../../training/run-setup.ts';
import { DEMO_SETTINGS } from './settings.ts';

export const DEMO_DATA = new URL('./data/', import.meta.url).pathname;
export const PRETRAINED_DEMO_ENCODER = new URL('../../models/demo-encoder/', import.meta.url).pathname;

export interface TinyBertShape {
  readonly hiddenSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  /**
   * Weight spread (BERT uses 0.02): wider, so that a random encoder's outputs depend visibly on its
   * input words and attention is not almost uniform.
   */
  readonly initializerRange: number;
}

export const DEMO_SHAPE: TinyBertShape = {
  hiddenSize: 32,
  numHiddenLayers: 2,
  numAttentionHeads: 2,
  initializerRange: 0.15,
};

/**
 * A Hugging Face folder: config.json, model.safetensors, vocab.txt (classic BERT tokenizer files), written
 * into a temporary folder and swapped in whole; `writer` is injectable for failure tests.
 */
export async function writeTinyRandomBert(
  folder: string,
  words: readonly string[],
  seed = 0,
  shape: TinyBertShape = DEMO_SHAPE,
  writer: DurableWriter = fsyncWriter,
): Promise<void> {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words];
  const cfg = {
    ...bertConfigFor({
      vocabSize: vocab.length,
      hiddenSize: shape.hiddenSize,
      numHiddenLayers: shape.numHiddenLayers,
      numAttentionHeads: shape.numAttentionHeads,
      intermediateSize: 2 * shape.hiddenSize,
      maxPositionEmbeddings: 64,
    }),
    initializerRange: shape.initializerRange,
  };
  const src = randomWeightSource(cfg, prngKey(seed));
  const tensors = requiredBertWeights(cfg, { pooler: true, mlmHead: true })
    .filter(([, , o]) => !o?.optional)
    .map(([name, shape]) => src.get(name, shape));
  const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
  const weights = serializeSafetensors(
    tensors.map((t) => ({ ...t, dtype: 'f32' as const, data: Float32Array.from(t.data as ArrayLike<number>) })),
    { format: 'pt' },
  );
  const files = new Map([
    ['config.json', utf8(serializeBertConfig(cfg))],
    ['model.safetensors', weights],
    ['vocab.txt', utf8(`${vocab.join('\n')}\n`)],
  ]);
  await writeDirAtomic(folder, files, writer);
}

/** Every word (and label) of the demo data, lower-cased and sorted: the random encoder's vocabulary. */
export function demoWords(dataDir: string = DEMO_DATA): string[] {
  const words = new Set<string>();
  for (const f of ['train', 'dev32', 'val']) {
    for (const line of readFileSync(join(dataDir, `${f}.jsonl`), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const r = JSON.parse(line) as { text: string; label: string };
      for (const w of `${r.text} ${r.label}`.split(/\s+/)) words.add(w.toLowerCase());
    }
  }
  return [...words].sort();
}

/** The pretrained demo encoder folder, when it is there and complete. */
export function pretrainedDemoEncoder(folder: string = PRETRAINED_DEMO_ENCODER): string | undefined {
  return ['config.json', 'model.safetensors', 'tokenizer.json'].every((f) => existsSync(join(folder, f)))
    ? folder
    : undefined;
}

export interface DemoEncoder {
  readonly folder: string;
  readonly kind: 'pretrained' | 'random';
  /** One line saying which encoder this is. */
  readonly note: string;
}

/**
 * The encoder to use: `models/demo-encoder/` when present (unless `random` is asked for), else a tiny
 * random BERT written to `<scratch>.encoder` (beside the run folder `<scratch>`).
 */
export async function demoEncoder(
  scratch: string,
  opts: { readonly random?: boolean; readonly seed?: number; readonly writer?: DurableWriter } = {},
): Promise<DemoEncoder> {
  const pre = opts.random ? undefined : pretrainedDemoEncoder();
  if (pre)
    return { folder: pre, kind: 'pretrained', note: `pretrained demo encoder ${pre} (small; see its config.json)` };
  // Beside the run folder, not in it: `train --out` refuses a folder that holds anything but a run.
  const folder = `${scratch}.encoder`;
  await writeTinyRandomBert(folder, demoWords(), opts.seed ?? 0, DEMO_SHAPE, opts.writer);
  const s = DEMO_SHAPE;
  return {
    folder,
    kind: 'random',
    note: `TINY RANDOM encoder (never pretrained: ${s.numHiddenLayers} layers, ${s.hiddenSize} wide, seeded), written to ${folder}`,
  };
}

/** Demo-task training defaults (settings.ts) with the data folder on disk. */
export const DEMO_TRAIN: Partial<RunConfig> = { ...DEMO_SETTINGS, data: DEMO_DATA };

/** A RunConfig on the demo task (DEMO_TRAIN ← `over`) → model, tokenizer, data and task model. */
export async function demoSetup(model: string, over: Partial<RunConfig>): Promise<RunSetup> {
  const c = mergeConfig([{ ...DEMO_TRAIN, model, ...over }]);
  if (E.isLeft(c)) throw new Error(c.left.message);
  return setupRun(c.right);
}
