/**
 * PEFT adapter files in memory, for a trained soft prompt or prefix: building `adapter_config.json` +
 * `adapter_model.safetensors` and parsing them back (no file system: `peft-adapter.ts` reads and writes
 * folders in Node, a browser page zips or unzips them). See peft-adapter.ts for what PEFT stores.
 */
import { tensor, type Backend, type FloatDType, type Tensor } from '../core/index.ts';
import type { BertModel } from '../models/bert/model.ts';
import { rawTensor, type RawTensor } from '../models/bert/raw-tensor.ts';
import {
  parseSafetensorsOrThrow,
  readSafetensorsHeader,
  serializeSafetensors as serialize,
} from '../models/bert/safetensors.ts';
import type { ClassifierParams } from './heads.ts';
import type { PrefixParams } from './prefix.ts';
import { prefixTable } from './prefix.ts';
import type { SoftPromptParams } from './soft-prompt.ts';
import type { PromptInit } from './common.ts';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
/** PEFT version whose format this mirrors (the fixture's `peft_version`). */
export const PEFT_VERSION = '0.21.0';

export type PeftTaskType =
  'SEQ_CLS' | 'TOKEN_CLS' | 'FEATURE_EXTRACTION' | 'CAUSAL_LM' | 'SEQ_2_SEQ_LM' | 'QUESTION_ANS';

/** Fields shared by both configs, in PEFT's order (see reference.json `peft.prompt.config`). */
interface CommonConfig {
  task_type: PeftTaskType | null;
  peft_type: 'PROMPT_TUNING' | 'PREFIX_TUNING';
  auto_mapping: null;
  peft_version: string;
  base_model_name_or_path: string | null;
  revision: string | null;
  inference_mode: boolean;
  num_virtual_tokens: number;
  token_dim: number;
  num_transformer_submodules: number;
  num_attention_heads: number;
  num_layers: number;
  modules_to_save: string[] | null;
}
export interface PromptTuningAdapterConfig extends CommonConfig {
  peft_type: 'PROMPT_TUNING';
  prompt_tuning_init: 'RANDOM' | 'SAMPLE_VOCAB' | 'TEXT';
  prompt_tuning_init_text: string | null;
  tokenizer_name_or_path: string | null;
  tokenizer_kwargs: Record<string, unknown> | null;
}
export interface PrefixTuningAdapterConfig extends CommonConfig {
  peft_type: 'PREFIX_TUNING';
  init_weights: string | null;
  encoder_hidden_size: number;
  prefix_projection: boolean;
}
export type PeftAdapterConfig = PromptTuningAdapterConfig | PrefixTuningAdapterConfig;

export type AdapterMethod =
  | { readonly kind: 'prompt'; readonly params: SoftPromptParams }
  | { readonly kind: 'prefix'; readonly params: PrefixParams };

export interface ExportOptions {
  readonly baseModelNameOrPath: string | null;
  /** Default 'SEQ_CLS' when a classifier is given, else 'FEATURE_EXTRACTION'. */
  readonly taskType?: PeftTaskType;
  /** Trained classification head, saved as PEFT's modules_to_save. */
  readonly classifier?: ClassifierParams;
  /** How the soft prompt was initialised (config field `prompt_tuning_init`; default RANDOM). */
  readonly init?: PromptInit;
  readonly initText?: string;
  /** Also save a projected prefix's MLP (PromptGrad extension, see the file comment). Default false. */
  readonly saveProjectionWeights?: boolean;
  readonly peftVersion?: string;
}

const CLS_KEYS = { weight: 'base_model.classifier.weight', bias: 'base_model.classifier.bias' } as const;
const MLP_KEYS = {
  embedding: 'prompt_encoder.embedding.weight',
  w0: 'prompt_encoder.transform.0.weight',
  b0: 'prompt_encoder.transform.0.bias',
  w2: 'prompt_encoder.transform.2.weight',
  b2: 'prompt_encoder.transform.2.bias',
} as const;

const INIT_NAME = { random: 'RANDOM', vocab: 'SAMPLE_VOCAB', text: 'TEXT' } as const;

function raw(name: string, t: Tensor): RawTensor {
  const d = t.dataSync();
  const data =
    d instanceof Float64Array
      ? Float64Array.from(d)
      : d instanceof Float32Array
        ? Float32Array.from(d)
        : Float32Array.from(d);
  return rawTensor(name, t.shape, data);
}

/** The adapter_config.json object PEFT would write for this method and model (inference_mode true). */
export function peftAdapterConfig(model: BertModel, method: AdapterMethod, opts: ExportOptions): PeftAdapterConfig {
  const { hiddenSize: d, numAttentionHeads: H, numHiddenLayers: L } = model.cfg;
  const common = {
    task_type: opts.taskType ?? (opts.classifier ? 'SEQ_CLS' : 'FEATURE_EXTRACTION'),
    peft_version: opts.peftVersion ?? PEFT_VERSION,
    base_model_name_or_path: opts.baseModelNameOrPath,
  };
  const tail = {
    num_transformer_submodules: 1,
    num_attention_heads: H,
    num_layers: L,
    modules_to_save: opts.classifier ? ['classifier', 'score'] : null,
  };
  if (method.kind === 'prompt') {
    const m = method.params.promptEmbeddings.shape[0]!;
    return {
      task_type: common.task_type,
      peft_type: 'PROMPT_TUNING',
      auto_mapping: null,
      peft_version: common.peft_version,
      base_model_name_or_path: common.base_model_name_or_path,
      revision: null,
      inference_mode: true,
      num_virtual_tokens: m,
      token_dim: d,
      ...tail,
      prompt_tuning_init: INIT_NAME[opts.init?.kind ?? 'random'],
      prompt_tuning_init_text: opts.initText ?? null,
      tokenizer_name_or_path: null,
      tokenizer_kwargs: null,
    };
  }
  const p = method.params;
  const projected = 'transform0' in p;
  return {
    task_type: common.task_type,
    peft_type: 'PREFIX_TUNING',
    auto_mapping: null,
    peft_version: common.peft_version,
    base_model_name_or_path: common.base_model_name_or_path,
    revision: null,
    inference_mode: true,
    num_virtual_tokens: p.embedding.shape[0]!,
    token_dim: d,
    ...tail,
    init_weights: null,
    encoder_hidden_size: projected ? p.transform0.weight.shape[0]! : d,
    prefix_projection: projected,
  };
}

/** The adapter folder's two files, in memory: what `exportPeftAdapter` writes, and what a browser zips. */
export interface PeftAdapterFiles {
  readonly config: PeftAdapterConfig;
  /** `adapter_config.json`'s text. */
  readonly configJson: string;
  /** `adapter_model.safetensors`'s bytes. */
  readonly weights: Uint8Array;
}

export function peftAdapterFiles(model: BertModel, method: AdapterMethod, opts: ExportOptions): PeftAdapterFiles {
  const config = peftAdapterConfig(model, method, opts);
  const tensors: RawTensor[] = [];
  if (method.kind === 'prompt') tensors.push(raw('prompt_embeddings', method.params.promptEmbeddings));
  else {
    const p = method.params;
    tensors.push(raw('prompt_embeddings', prefixTable(p)));
    if ('transform0' in p && opts.saveProjectionWeights) {
      tensors.push(
        raw(MLP_KEYS.embedding, p.embedding),
        raw(MLP_KEYS.w0, p.transform0.weight),
        raw(MLP_KEYS.b0, p.transform0.bias),
        raw(MLP_KEYS.w2, p.transform2.weight),
        raw(MLP_KEYS.b2, p.transform2.bias),
      );
    }
  }
  if (opts.classifier)
    tensors.push(raw(CLS_KEYS.weight, opts.classifier.weight), raw(CLS_KEYS.bias, opts.classifier.bias));
  return { config, configJson: `${JSON.stringify(config, null, 2)}\n`, weights: serialize(tensors) };
}

export interface ImportOptions {
  /** Float dtype of the returned tensors; default: the file's (F64 → f64, anything else → f32). */
  readonly dtype?: FloatDType;
  /**
   * A projected prefix saved without its MLP holds only the projected table, which cannot be inverted
   * (PEFT's load_prompt_embeddings refuses it). 'refuse' (default) throws; 'as-table' returns the
   * table as an unprojected prefix, which gives the same encoder inputs.
   */
  readonly projected?: 'refuse' | 'as-table';
}

export interface ImportedAdapter {
  readonly config: PeftAdapterConfig;
  readonly method: AdapterMethod;
  readonly classifier?: ClassifierParams;
}

function checkConfig(u: unknown, file: string): PeftAdapterConfig {
  const c = u as Partial<PeftAdapterConfig> | null;
  if (!c || typeof c !== 'object') throw new Error(`${file}: not a JSON object`);
  if (c.peft_type !== 'PROMPT_TUNING' && c.peft_type !== 'PREFIX_TUNING')
    throw new Error(`${file}: peft_type ${JSON.stringify(c.peft_type)} is not PROMPT_TUNING or PREFIX_TUNING`);
  for (const k of ['num_virtual_tokens', 'token_dim', 'num_layers', 'num_attention_heads'] as const) {
    if (!Number.isSafeInteger(c[k]) || c[k]! < 1)
      throw new Error(`${file}: ${k} must be a positive integer, got ${JSON.stringify(c[k])}`);
  }
  if ((c.num_transformer_submodules ?? 1) !== 1)
    throw new Error(`${file}: num_transformer_submodules ${c.num_transformer_submodules} (encoder models use 1)`);
  return c as PeftAdapterConfig;
}

/** Where an adapter's files came from, for error messages: the folder and each file's path. */
export interface AdapterSource {
  readonly folder: string;
  readonly configFile: string;
  readonly weightsFile: string;
}

/**
 * An adapter's two files (config text, weight bytes) → parameter trees on `bk`, shapes checked against
 * the config; `importPeftAdapter` reads them from a folder, a browser from a zip or dropped files.
 */
export function parsePeftAdapter(
  configJson: string,
  bytes: Uint8Array,
  bk: Backend,
  opts: ImportOptions = {},
  src: AdapterSource = { folder: '(adapter)', configFile: ADAPTER_CONFIG, weightsFile: ADAPTER_WEIGHTS },
): ImportedAdapter {
  const { folder, configFile: cfgFile, weightsFile: wFile } = src;
  const config = checkConfig(JSON.parse(configJson), cfgFile);
  const header = readSafetensorsHeader(bytes, wFile);
  if (header._tag === 'Left') throw new Error(header.left.message);
  const fileDtype: FloatDType = header.right.entries.some((e) => e.dtype === 'F64') ? 'f64' : 'f32';
  const dtype = opts.dtype ?? fileDtype;
  const byName = new Map(parseSafetensorsOrThrow(bytes, wFile, { floatDtype: dtype }).tensors.map((t) => [t.name, t]));
  const get = (name: string, shape?: readonly number[]): Tensor => {
    const t = byName.get(name);
    if (!t) throw new Error(`${wFile}: no tensor ${name}`);
    if (shape && t.shape.join() !== shape.join())
      throw new Error(`${wFile}: ${name} is [${t.shape.join(', ')}], the config implies [${shape.join(', ')}]`);
    return tensor(bk, t.data, { shape: t.shape, dtype });
  };
  const m = config.num_virtual_tokens,
    d = config.token_dim,
    L = config.num_layers;
  const classifier = byName.has(CLS_KEYS.weight)
    ? { classifier: { weight: get(CLS_KEYS.weight), bias: get(CLS_KEYS.bias) } }
    : {};
  if (config.peft_type === 'PROMPT_TUNING') {
    return {
      config,
      method: { kind: 'prompt', params: { promptEmbeddings: get('prompt_embeddings', [m, d]) } },
      ...classifier,
    };
  }
  const table = get('prompt_embeddings', [m, 2 * L * d]);
  if (!config.prefix_projection)
    return { config, method: { kind: 'prefix', params: { embedding: table } }, ...classifier };
  if (byName.has(MLP_KEYS.embedding)) {
    const h = config.encoder_hidden_size;
    const params: PrefixParams = {
      embedding: get(MLP_KEYS.embedding, [m, d]),
      transform0: { weight: get(MLP_KEYS.w0, [h, d]), bias: get(MLP_KEYS.b0, [h]) },
      transform2: { weight: get(MLP_KEYS.w2, [2 * L * d, h]), bias: get(MLP_KEYS.b2, [2 * L * d]) },
    };
    return { config, method: { kind: 'prefix', params }, ...classifier };
  }
  if (opts.projected === 'as-table')
    return { config, method: { kind: 'prefix', params: { embedding: table } }, ...classifier };
  throw new Error(
    `${folder}: the prefix was saved with prefix_projection, so ${ADAPTER_WEIGHTS} holds only the projected table [${m}, ${2 * L * d}]; the projection cannot be inverted (as PEFT's load_prompt_embeddings refuses). Pass { projected: 'as-table' } to load the table as an unprojected prefix.`,
  );
}
