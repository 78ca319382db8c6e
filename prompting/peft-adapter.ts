/**
 * PEFT adapter folders for a trained soft prompt or prefix: `adapter_config.json` +
 * `adapter_model.safetensors`, as huggingface/peft's `save_pretrained` writes them for prompt learning.
 *
 * What PEFT stores (src/peft/utils/save_and_load.py `get_peft_model_state_dict`, peft_model.py
 * `get_prompt_embedding_to_save`, tuners_utils `ModulesToSaveWrapper.adapter_state_dict`):
 *  - `prompt_embeddings`: the prompt encoder's output for tokens 0..m−1 — [m, d] for PROMPT_TUNING,
 *    [m, 2·L·d] for PREFIX_TUNING; with `prefix_projection` it is the *projected* table (the MLP is
 *    run once and only its output is saved), which is why PEFT's `load_prompt_embeddings` cannot load
 *    it back into a projected encoder.
 *  - modules_to_save (SEQ_CLS: the classifier) under their module path in the PeftModel with the
 *    wrapper and adapter name removed: `base_model.classifier.weight` / `base_model.classifier.bias`.
 *  - `save_pretrained` writes the config with `inference_mode: true`.
 * Optionally (`saveProjectionWeights`) the projected prefix's MLP is also written under PEFT's module
 * names with the adapter name removed (`prompt_encoder.embedding.weight`, `prompt_encoder.transform.0.*`,
 * `prompt_encoder.transform.2.*`), so PromptGrad can resume training; PEFT ignores those keys.
 * Files are written atomically (tmp file + rename), the weights first and the config last.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../core/index.ts';
import type { BertModel } from '../models/bert/model.ts';
import {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  parsePeftAdapter,
  peftAdapterFiles,
  type AdapterMethod,
  type ExportOptions,
  type ImportedAdapter,
  type ImportOptions,
  type PeftAdapterConfig,
} from './peft-adapter-files.ts';

export * from './peft-adapter-files.ts';

function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Writes `folder/adapter_model.safetensors` then `folder/adapter_config.json` (each via tmp + rename). */
export function exportPeftAdapter(
  folder: string,
  model: BertModel,
  method: AdapterMethod,
  opts: ExportOptions,
): PeftAdapterConfig {
  const { config, configJson, weights } = peftAdapterFiles(model, method, opts);
  mkdirSync(folder, { recursive: true });
  writeAtomic(join(folder, ADAPTER_WEIGHTS), weights);
  writeAtomic(join(folder, ADAPTER_CONFIG), configJson);
  return config;
}

/** Reads an adapter folder back into parameter trees on `bk` (shapes checked against the config). */
export function importPeftAdapter(folder: string, bk: Backend, opts: ImportOptions = {}): ImportedAdapter {
  const configFile = join(folder, ADAPTER_CONFIG),
    weightsFile = join(folder, ADAPTER_WEIGHTS);
  const configJson = readFileSync(configFile, 'utf8');
  const bytes = new Uint8Array(readFileSync(weightsFile));
  return parsePeftAdapter(configJson, bytes, bk, opts, { folder, configFile, weightsFile });
}
