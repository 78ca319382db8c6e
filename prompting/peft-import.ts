/**
 * Importing a Hugging Face PEFT prompt-learning adapter (PROMPT_TUNING / PREFIX_TUNING, SEQ_CLS or
 * FEATURE_EXTRACTION) for a loaded BERT / RoBERTa model: `adapter_model.safetensors` or
 * `adapter_model.bin` (torch.save, read by the safe reader), F32 / F16 / BF16 / F64 tensors, the head
 * under transformers' names and the `modules_to_save` copies (BERT's pooler included, see
 * peft-format.ts). The config is checked against the model before any tensor is read, and every
 * mismatch is named; anything the adapter carries that PromptGrad would not apply is refused rather
 * than dropped. Problems are UsageErrors (the CLI's exit 2).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { tensor, type FloatDType, type Tensor } from '../core/index.ts';
import type { BertModel } from '../models/bert/model.ts';
import { Linear } from '../models/bert/modules.ts';
import type { RawTensor } from '../models/bert/io/raw-tensor.ts';
import { parseSafetensors } from '../models/bert/io/safetensors.ts';
import { parseTorchBin } from '../models/bert/io/torch-bin.ts';
import { UsageError } from '../training/usage-error.ts';
import type { ClassifierParams } from './heads.ts';
import {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  ADAPTER_WEIGHTS_BIN,
  HEAD_LAYOUT,
  MLP_KEYS,
  PEFT_TASK_TYPES,
  PROMPT_KEY,
  type AdapterMethod,
  type LinearKeys,
  type PeftAdapterConfig,
} from './peft-format.ts';
import type { PrefixParams } from './prefix.ts';

export interface ImportOptions {
  /** Float dtype of the returned tensors; default the model's. */
  readonly dtype?: FloatDType;
  /**
   * A projected prefix saved without its MLP holds only the projected table, which cannot be inverted.
   * 'refuse' (default) throws; 'as-table' returns the table as an unprojected prefix (what PEFT itself
   * does in inference mode: the same encoder inputs).
   */
  readonly projected?: 'refuse' | 'as-table';
}

export interface ImportedAdapter {
  readonly config: PeftAdapterConfig;
  readonly method: AdapterMethod;
  /** SEQ_CLS: the final Linear(d, C) (BERT `classifier`, RoBERTa `classifier.out_proj`). */
  readonly classifier?: ClassifierParams;
  /**
   * SEQ_CLS: the dense + tanh layer the classifier reads on the first token: the adapter's (RoBERTa
   * `classifier.dense`, a BERT pooler from modules_to_save) or else the checkpoint's own pooler.
   */
  readonly pooler?: Linear;
  /** Whether `pooler` came from the adapter (false: the checkpoint's). */
  readonly poolerFromAdapter: boolean;
  /** The weights file read. */
  readonly weightsFile: string;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Every way the config does not fit PromptGrad or the model, as `field value: why` phrases. */
export function configMismatches(c: Record<string, unknown>, model: BertModel): string[] {
  const { hiddenSize, numHiddenLayers, numAttentionHeads, maxPositionEmbeddings, modelType, padTokenId } = model.cfg;
  const out: string[] = [];
  const show = (v: unknown) => JSON.stringify(v) ?? 'missing';
  const pt = c['peft_type'];
  if (pt !== 'PROMPT_TUNING' && pt !== 'PREFIX_TUNING')
    out.push(`peft_type ${show(pt)}: PromptGrad imports PROMPT_TUNING and PREFIX_TUNING adapters only`);
  const tt = c['task_type'];
  if (tt !== 'SEQ_CLS' && tt !== 'FEATURE_EXTRACTION')
    out.push(
      (PEFT_TASK_TYPES as readonly unknown[]).includes(tt)
        ? `task_type ${show(tt)}: PromptGrad has no ${String(tt)} head for an encoder; it imports SEQ_CLS (prompt + classification head) and FEATURE_EXTRACTION (prompt alone)`
        : `task_type ${show(tt)} is not a PEFT task type (${PEFT_TASK_TYPES.join(', ')}); PromptGrad imports SEQ_CLS and FEATURE_EXTRACTION`,
    );
  const m = c['num_virtual_tokens'];
  // Virtual tokens (or the prefix's position shift) share the position table with at least a few text tokens.
  const positions = maxPositionEmbeddings - (modelType === 'roberta' ? padTokenId + 1 : 0);
  if (!isInt(m) || m < 1) out.push(`num_virtual_tokens ${show(m)}: must be a positive integer`);
  else if (m > positions - 4)
    out.push(`num_virtual_tokens ${m}: leaves no room for text in the model's ${positions} usable positions`);
  const same = (field: string, want: number, what: string) => {
    if (c[field] !== want) out.push(`${field} ${show(c[field])}: the model's ${what} is ${want}`);
  };
  same('token_dim', hiddenSize, 'hidden_size');
  same('num_layers', numHiddenLayers, 'num_hidden_layers');
  same('num_attention_heads', numAttentionHeads, 'num_attention_heads');
  const subs = c['num_transformer_submodules'];
  if (subs !== undefined && subs !== null && subs !== 1)
    out.push(`num_transformer_submodules ${show(subs)}: an encoder has 1 (2 is for encoder-decoder models)`);
  return out;
}

function readConfig(folder: string, model: BertModel): PeftAdapterConfig {
  const file = join(folder, ADAPTER_CONFIG);
  if (!existsSync(file))
    throw new UsageError(`${folder}: no ${ADAPTER_CONFIG}; expected a PEFT adapter folder (save_pretrained output)`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new UsageError(`${file}: expected a JSON object`);
  const bad = configMismatches(json as Record<string, unknown>, model);
  if (bad.length > 0)
    throw new UsageError(
      `${file} does not fit the ${model.cfg.modelType} model (hidden ${model.cfg.hiddenSize}, ${model.cfg.numHiddenLayers} layers, ${model.cfg.numAttentionHeads} heads): ${bad.join('; ')}`,
    );
  return json as PeftAdapterConfig;
}

function readWeights(folder: string, dtype: FloatDType): { file: string; tensors: readonly RawTensor[] } {
  const st = join(folder, ADAPTER_WEIGHTS),
    bin = join(folder, ADAPTER_WEIGHTS_BIN);
  const file = existsSync(st) ? st : existsSync(bin) ? bin : undefined;
  if (!file) throw new UsageError(`${folder}: neither ${ADAPTER_WEIGHTS} nor ${ADAPTER_WEIGHTS_BIN} is there`);
  const bytes = new Uint8Array(readFileSync(file));
  const r =
    file === st
      ? E.map((f: { tensors: readonly RawTensor[] }) => f.tensors)(parseSafetensors(bytes, file, { floatDtype: dtype }))
      : parseTorchBin(bytes, file, { floatDtype: dtype });
  if (E.isLeft(r)) throw new UsageError(r.left.message);
  return { file, tensors: r.right };
}

/** Reads and checks an adapter folder for `model`; tensors come back on the model's backend. */
export function importPeftAdapter(folder: string, model: BertModel, opts: ImportOptions = {}): ImportedAdapter {
  const config = readConfig(folder, model);
  const dtype = opts.dtype ?? model.dtype;
  const { file, tensors } = readWeights(folder, dtype);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const used = new Set<string>();
  const get = (name: string, shape: readonly number[] | ((s: readonly number[]) => boolean), why: string): Tensor => {
    const t = byName.get(name);
    if (!t) throw new UsageError(`${file}: no tensor ${name} (${why})`);
    const ok = typeof shape === 'function' ? shape(t.shape) : t.shape.join() === shape.join();
    if (!ok)
      throw new UsageError(
        `${file}: ${name} is [${t.shape.join(', ')}], ${typeof shape === 'function' ? why : `the config implies [${shape.join(', ')}]`}`,
      );
    if (t.dtype === 'i32') throw new UsageError(`${file}: ${name} holds integers, expected floats`);
    used.add(name);
    return tensor(model.bk, t.data, { shape: t.shape, dtype });
  };
  const { modelType } = model.cfg;
  const d = config.token_dim,
    m = config.num_virtual_tokens,
    L = config.num_layers;
  const layout = HEAD_LAYOUT[modelType];
  const other = HEAD_LAYOUT[modelType === 'bert' ? 'roberta' : 'bert'];
  if (byName.has(other.classifier.weight) && !byName.has(layout.classifier.weight))
    throw new UsageError(
      `${file}: the adapter holds a ${other.description} head (${other.classifier.weight}), but the model is ${modelType} (${layout.description})`,
    );

  let classifier: ClassifierParams | undefined, pooler: Linear | undefined;
  const linear = (keys: LinearKeys, outF: number | undefined, what: string) => {
    const weight = get(
      keys.weight,
      (s) => s.length === 2 && s[1] === d && (outF === undefined ? s[0]! >= 1 : s[0] === outF),
      `${what} weight must be [${outF ?? 'labels'}, ${d}]`,
    );
    return { weight, bias: get(keys.bias, [weight.shape[0]!], `${what} bias`) };
  };
  if (config.task_type === 'SEQ_CLS') {
    if (!byName.has(layout.classifier.weight))
      throw new UsageError(
        `${file}: task_type SEQ_CLS but no ${layout.classifier.weight}: the adapter carries no classification head (PEFT would initialise it randomly), expected ${layout.description}`,
      );
    classifier = linear(layout.classifier, undefined, 'the classifier');
    const carried = layout.poolerInHead || byName.has(layout.pooler.weight);
    if (layout.poolerInHead && !byName.has(layout.pooler.weight))
      throw new UsageError(`${file}: no ${layout.pooler.weight}: a ${layout.description} head needs both layers`);
    const p = carried ? linear(layout.pooler, d, 'the pooler') : undefined;
    pooler = p ? new Linear(p.weight, p.bias) : model.pooler;
    if (!pooler)
      throw new UsageError(
        `${folder}: the model has no pooler (bert.pooler.dense.*) and the adapter carries none ("pooler" is not in modules_to_save): transformers would initialise it randomly, so the classifier's input is undefined; use a checkpoint with a pooler or an adapter saved with modules_to_save=["pooler"]`,
      );
  } else if (byName.has(layout.classifier.weight))
    throw new UsageError(
      `${file}: task_type ${String(config.task_type)} but the adapter holds a classifier (${layout.classifier.weight}); PEFT's feature-extraction model would not use it`,
    );

  let method: AdapterMethod;
  if (config.peft_type === 'PROMPT_TUNING')
    method = { kind: 'prompt', params: { promptEmbeddings: get(PROMPT_KEY, [m, d], 'the prompt') } };
  else if (!config.prefix_projection || opts.projected === 'as-table' || !byName.has(MLP_KEYS.embedding)) {
    if (config.prefix_projection && opts.projected !== 'as-table')
      throw new UsageError(
        `${folder}: the prefix was saved with prefix_projection, so ${file} holds only the projected table [${m}, ${2 * L * d}]; the projection cannot be inverted (as PEFT's load_prompt_embeddings refuses). Pass { projected: 'as-table' } to load the table as an unprojected prefix.`,
      );
    method = { kind: 'prefix', params: { embedding: get(PROMPT_KEY, [m, 2 * L * d], 'the prefix table') } };
    for (const k of Object.values(MLP_KEYS)) if (byName.has(k)) used.add(k);
  } else {
    get(PROMPT_KEY, [m, 2 * L * d], 'the prefix table');
    const h = config.encoder_hidden_size;
    const params: PrefixParams = {
      embedding: get(MLP_KEYS.embedding, [m, d], 'the projection'),
      transform0: { weight: get(MLP_KEYS.w0, [h, d], 'projection'), bias: get(MLP_KEYS.b0, [h], 'projection') },
      transform2: {
        weight: get(MLP_KEYS.w2, [2 * L * d, h], 'projection'),
        bias: get(MLP_KEYS.b2, [2 * L * d], 'projection'),
      },
    };
    method = { kind: 'prefix', params };
  }
  const unused = [...byName.keys()].filter((k) => !used.has(k));
  if (unused.length > 0)
    throw new UsageError(
      `${file}: the adapter carries ${unused.join(', ')}, which PromptGrad cannot apply to a ${config.peft_type} ${String(config.task_type)} model (modules_to_save: ${JSON.stringify(config.modules_to_save)}); importing without them would give a different model`,
    );
  return {
    config,
    method,
    ...(classifier ? { classifier } : {}),
    ...(pooler ? { pooler } : {}),
    poolerFromAdapter: pooler !== undefined && pooler !== model.pooler,
    weightsFile: file,
  };
}

/** The model with the adapter's head pooler in place of the checkpoint's (a view: layers are shared). */
export function modelWithPooler(model: BertModel, pooler: Linear | undefined): BertModel {
  if (pooler === undefined || pooler === model.pooler) return model;
  return model.withPooler(pooler);
}
