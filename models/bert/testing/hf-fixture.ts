/**
 * The Hugging Face reference fixtures (`fixtures/hf-reference/<name>/`) for tests: the model
 * loaded through the loader's own name normalisation and `Weights` accessor, and the reference tensors.
 */
import { readFileSync } from 'node:fs';
import type { Backend, FloatDType } from '../../../core/index.ts';
import { normaliseTensors } from '../io/checkpoint.ts';
import { parseBertConfig, type BertConfig } from '../config.ts';
import { orThrow } from '../load-error.ts';
import { BertModel } from '../model.ts';
import type { RawTensor } from '../io/raw-tensor.ts';
import type { WeightStorage } from '../modules.ts';
import { parseSafetensorsOrThrow } from '../io/safetensors.ts';
import { Weights } from '../weights.ts';

export const HF_FIXTURES = new URL('../../../fixtures/hf-reference/', import.meta.url);
export type FixtureName = 'bert-tiny' | 'roberta-tiny';

const fixtureFile = (name: FixtureName, file: string): URL => new URL(`${name}/${file}`, HF_FIXTURES);

function readSafetensors(file: URL, floatDtype: FloatDType): readonly RawTensor[] {
  return parseSafetensorsOrThrow(new Uint8Array(readFileSync(file)), file.pathname, { floatDtype }).tensors;
}

export function fixtureConfig(name: FixtureName): BertConfig {
  return orThrow(
    parseBertConfig(readFileSync(fixtureFile(name, 'config.json'), 'utf8'), fixtureFile(name, 'config.json').pathname),
  );
}

/**
 * The fixture's frozen encoder on `bk` in `dtype` (checkpoint names normalised as loadCheckpoint does);
 * `config` overrides fields of its config.json (e.g. a dropout rate the fixture leaves at 0).
 */
export function fixtureModel(
  name: FixtureName,
  bk: Backend,
  dtype: FloatDType,
  opts: {
    readonly weightStorage?: WeightStorage;
    readonly keepF32?: (prefix: string) => boolean;
    readonly config?: Partial<BertConfig>;
  } = {},
): BertModel {
  const file = fixtureFile(name, 'model.safetensors');
  const { tensors } = orThrow(normaliseTensors(readSafetensors(file, dtype), file.pathname));
  const { config, ...scope } = opts;
  return BertModel.load(new Weights(tensors, file.pathname), { ...fixtureConfig(name), ...config }, bk, dtype, scope);
}

/** reference.safetensors by key (floats in f64, integer tensors as i32). */
export function fixtureReference(name: FixtureName): Map<string, RawTensor> {
  return new Map(readSafetensors(fixtureFile(name, 'reference.safetensors'), 'f64').map((t) => [t.name, t]));
}
