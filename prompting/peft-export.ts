/**
 * A trained soft prompt or prefix (+ classification head) as the files of a Hugging Face PEFT adapter
 * folder, in memory and with no file system (see peft-adapter.ts for what the files hold and how
 * they are written in Node; a browser zips them).
 */
import { cast, type AnyTensor } from '../core/index.ts';
import type { BertModel } from '../models/bert/model.ts';
import type { Linear } from '../models/bert/modules.ts';
import { rawTensor, type RawTensor } from '../models/bert/io/raw-tensor.ts';
import { serializeSafetensors } from '../models/bert/io/safetensors.ts';
import { UsageError } from '../training/usage-error.ts';
import type { PromptInit } from './common.ts';
import type { ClassifierParams } from './heads.ts';
import {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  configJson,
  HEAD_LAYOUT,
  MLP_KEYS,
  MODEL_CARD,
  PEFT_VERSION,
  PROMPT_KEY,
  seqClsModulesToSave,
  type AdapterMethod,
  type LinearKeys,
  type PeftAdapterConfig,
  type PeftTaskType,
} from './peft-format.ts';
import { peftModelCard, type ModelCardInfo } from './peft-model-card.ts';
import { prefixTable } from './prefix.ts';

export interface ExportOptions {
  /**
   * `base_model_name_or_path`: a hub id or a path. exportPeftAdapter (Node) stores an absolute path
   * relative to the current folder (where Python resolves a relative one), so no absolute local path
   * leaves the machine; here it is stored as given.
   */
  readonly baseModelNameOrPath: string | null;
  /** SEQ_CLS (the default with a classifier) or FEATURE_EXTRACTION (the default without). */
  readonly taskType?: PeftTaskType;
  /** Trained classification head [C, d] / [C]. */
  readonly classifier?: ClassifierParams;
  /** The dense + tanh layer the classifier reads through; default the checkpoint's pooler. */
  readonly pooler?: Linear;
  /** How the soft prompt was initialised (config field `prompt_tuning_init`; default RANDOM). */
  readonly init?: PromptInit;
  readonly initText?: string;
  /** Also save a projected prefix's MLP (PromptGrad extension, see peft-format.ts). Default false. */
  readonly saveProjectionWeights?: boolean;
  readonly peftVersion?: string;
  /** What the model card says about training and results. */
  readonly card?: ModelCardInfo;
}

const INIT_NAME = { random: 'RANDOM', vocab: 'SAMPLE_VOCAB', text: 'TEXT' } as const;

interface ResolvedHead {
  readonly classifier: ClassifierParams;
  readonly pooler: Linear;
  /** BERT: the pooler travels in modules_to_save (RoBERTa's is always part of the head). */
  readonly carryPooler: boolean;
}

function resolveHead(model: BertModel, opts: ExportOptions): ResolvedHead | undefined {
  const task = opts.taskType ?? (opts.classifier ? 'SEQ_CLS' : 'FEATURE_EXTRACTION');
  if (task !== 'SEQ_CLS' && task !== 'FEATURE_EXTRACTION')
    throw new UsageError(
      `export-peft: task_type ${task} cannot be expressed: PromptGrad adapters are SEQ_CLS (prompt + classification head) or FEATURE_EXTRACTION (prompt alone)`,
    );
  if (task === 'FEATURE_EXTRACTION') {
    if (opts.classifier)
      throw new UsageError(
        'export-peft: task_type FEATURE_EXTRACTION has no classification head; PEFT would drop the classifier (export it as SEQ_CLS)',
      );
    return undefined;
  }
  if (!opts.classifier)
    throw new UsageError(
      'export-peft: task_type SEQ_CLS needs the trained classifier: without it transformers initialises the head randomly',
    );
  const pooler = opts.pooler ?? model.pooler;
  if (!pooler)
    throw new UsageError(
      `export-peft: the checkpoint has no pooler (pooler.dense.*), and no pooler was given; the classifier's input (${HEAD_LAYOUT[model.cfg.modelType].description}) is undefined without the one it was trained through`,
    );
  const d = model.cfg.hiddenSize;
  const [C, dIn] = opts.classifier.weight.shape as [number, number];
  if (dIn !== d || opts.classifier.bias.shape.join() !== String(C))
    throw new UsageError(
      `export-peft: classifier weight [${opts.classifier.weight.shape.join(', ')}] / bias [${opts.classifier.bias.shape.join(', ')}] do not fit hidden size ${d}`,
    );
  if (pooler.weight.shape.join() !== `${d},${d}` || pooler.bias.shape.join() !== String(d))
    throw new UsageError(
      `export-peft: pooler weight [${pooler.weight.shape.join(', ')}] / bias [${pooler.bias.shape.join(', ')}] must be [${d}, ${d}] / [${d}]`,
    );
  const carryPooler = model.cfg.modelType === 'bert' && pooler !== model.pooler;
  return { classifier: opts.classifier, pooler, carryPooler };
}

/** The adapter_config.json object PEFT would write for this method, model and head (inference_mode true). */
export function peftAdapterConfig(model: BertModel, method: AdapterMethod, opts: ExportOptions): PeftAdapterConfig {
  return configFor(model, method, opts, resolveHead(model, opts));
}

function configFor(
  model: BertModel,
  method: AdapterMethod,
  opts: ExportOptions,
  head: ResolvedHead | undefined,
): PeftAdapterConfig {
  const { hiddenSize: d, numAttentionHeads: H, numHiddenLayers: L } = model.cfg;
  const common = {
    task_type: head ? ('SEQ_CLS' as const) : ('FEATURE_EXTRACTION' as const),
    auto_mapping: null,
    peft_version: opts.peftVersion ?? PEFT_VERSION,
    base_model_name_or_path: opts.baseModelNameOrPath,
    revision: null,
    inference_mode: true,
    token_dim: d,
    num_transformer_submodules: 1,
    num_attention_heads: H,
    num_layers: L,
    modules_to_save: head ? seqClsModulesToSave(head.carryPooler) : null,
  };
  if (method.kind === 'prompt')
    return {
      ...common,
      peft_type: 'PROMPT_TUNING',
      num_virtual_tokens: method.params.promptEmbeddings.shape[0]!,
      prompt_tuning_init: INIT_NAME[opts.init?.kind ?? 'random'],
      prompt_tuning_init_text: opts.init?.kind === 'text' ? (opts.initText ?? null) : null,
      tokenizer_name_or_path: null,
      tokenizer_kwargs: null,
    };
  const p = method.params;
  const projected = 'transform0' in p;
  return {
    ...common,
    peft_type: 'PREFIX_TUNING',
    num_virtual_tokens: p.embedding.shape[0]!,
    init_weights: null,
    encoder_hidden_size: projected ? p.transform0.weight.shape[0]! : d,
    prefix_projection: projected,
  };
}

/** A tensor's values as f32 / f64 host data (f16-stored weights widen to f32). */
function raw(name: string, t: AnyTensor): RawTensor {
  const src = t.dtype === 'f32' || t.dtype === 'f64' ? t : cast(t, 'f32');
  const d = src.dataSync();
  const data = d instanceof Float64Array ? Float64Array.from(d) : Float32Array.from(d);
  if (src !== t) src.dispose();
  return rawTensor(name, t.shape, data);
}

const linearTensors = (keys: LinearKeys, l: { weight: AnyTensor; bias: AnyTensor }): RawTensor[] => [
  raw(keys.weight, l.weight),
  raw(keys.bias, l.bias),
];

/** An adapter folder's files, in the order exportPeftAdapter writes them (the config last). */
export interface PeftAdapterFiles {
  readonly config: PeftAdapterConfig;
  /** File name → contents: adapter_model.safetensors, README.md (model card), adapter_config.json. */
  readonly files: ReadonlyMap<string, Uint8Array | string>;
}

/**
 * The adapter folder in memory: what exportPeftAdapter writes in Node, and what a browser page zips.
 * Reads the tensors synchronously, so on WebGPU pass copies on the CPU backend (method, classifier, pooler).
 */
export function peftAdapterFiles(model: BertModel, method: AdapterMethod, opts: ExportOptions): PeftAdapterFiles {
  const head = resolveHead(model, opts);
  const config = configFor(model, method, opts, head);
  const tensors: RawTensor[] = [];
  if (method.kind === 'prompt') tensors.push(raw(PROMPT_KEY, method.params.promptEmbeddings));
  else {
    const p = method.params;
    const table = prefixTable(p);
    tensors.push(raw(PROMPT_KEY, table));
    if (table !== p.embedding) table.dispose();
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
  const layout = HEAD_LAYOUT[model.cfg.modelType];
  if (head) {
    tensors.push(...linearTensors(layout.classifier, head.classifier));
    if (layout.poolerInHead || head.carryPooler) tensors.push(...linearTensors(layout.pooler, head.pooler));
  }
  const files = new Map<string, Uint8Array | string>([
    [ADAPTER_WEIGHTS, serializeSafetensors(tensors)],
    [MODEL_CARD, peftModelCard(config, head ? layout.description : undefined, opts.card)],
    [ADAPTER_CONFIG, configJson(config)],
  ]);
  return { config, files };
}
