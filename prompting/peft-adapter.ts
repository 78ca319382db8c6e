/**
 * Exporting a trained soft prompt or prefix (+ classification head) as a Hugging Face PEFT adapter
 * folder that `PeftModel.from_pretrained` loads and runs to the same logits: the key names, shapes and
 * `adapter_config.json` fields PEFT itself writes (see peft-format.ts), per model type:
 *  - BERT: `base_model.classifier.*`; the pooler the head reads is carried as
 *    `base_model.bert.pooler.dense.*` with `"pooler"` in `modules_to_save` whenever the checkpoint has no
 *    pooler (an MLM checkpoint: PromptGrad trained through a seeded random one, and transformers would
 *    initialise a different random one) or the head used another pooler than the checkpoint's.
 *  - RoBERTa: the pooler and classifier become `classifier.dense` and `classifier.out_proj`.
 * What PEFT cannot express is refused with a UsageError saying why. Files are written atomically
 * (training/atomic-file.ts): weights, model card, then the config last.
 */
import { existsSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { BertModel } from '../models/bert/model.ts';
import { ensureDir, writeFileAtomic } from '../training/atomic-file.ts';
import { peftAdapterConfig as configAsGiven, peftAdapterFiles, type ExportOptions } from './peft-export.ts';
import { ADAPTER_WEIGHTS, ADAPTER_WEIGHTS_BIN, type AdapterMethod, type PeftAdapterConfig } from './peft-format.ts';

export * from './peft-export.ts';
export * from './peft-format.ts';
export * from './peft-import.ts';
export * from './peft-model-card.ts';

/** `base_model_name_or_path` as stored: absolute paths made relative to the current folder, with `/`. */
export function storedBaseModelName(name: string | null, cwd: string = process.cwd()): string | null {
  if (name === null || !isAbsolute(name)) return name;
  return relative(cwd, name).split(sep).join('/') || '.';
}

const stored = (opts: ExportOptions): ExportOptions => ({
  ...opts,
  baseModelNameOrPath: storedBaseModelName(opts.baseModelNameOrPath),
});

/** The adapter_config.json object PEFT would write for this method, model and head (inference_mode true). */
export function peftAdapterConfig(model: BertModel, method: AdapterMethod, opts: ExportOptions): PeftAdapterConfig {
  return configAsGiven(model, method, stored(opts));
}

/**
 * Writes `folder/adapter_model.safetensors`, `folder/README.md`, then `folder/adapter_config.json`; a stale
 * `adapter_model.bin` from an earlier export is removed (PEFT would prefer the safetensors file anyway).
 */
export function exportPeftAdapter(
  folder: string,
  model: BertModel,
  method: AdapterMethod,
  opts: ExportOptions,
): PeftAdapterConfig {
  const { config, files } = peftAdapterFiles(model, method, stored(opts));
  ensureDir(folder);
  for (const [name, contents] of files) {
    writeFileAtomic(join(folder, name), contents);
    if (name === ADAPTER_WEIGHTS && existsSync(join(folder, ADAPTER_WEIGHTS_BIN)))
      rmSync(join(folder, ADAPTER_WEIGHTS_BIN), { force: true });
  }
  return config;
}
