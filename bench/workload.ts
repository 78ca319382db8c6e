/**
 * The prompt-tuning step the benchmarks time: frozen random BERT or RoBERTa (real shapes), a soft
 * prompt of m virtual tokens before [CLS] (or, for `method: 'prefix'`, P-tuning v2 prefixes of m
 * tokens in every layer), the pooled classifier head, cross-entropy, gradients to {prompt, head}, and
 * a fused in-place AdamW update. Eval-mode encoder (no dropout), as bench/torch_prompt_step.py.
 */
import {
  crossEntropy,
  keep,
  prngKey,
  scope,
  splitKey,
  tensor,
  treeLeaves,
  valueAndGrad,
  type Backend,
  type FloatDType,
  type Tensor,
} from '../core/index.ts';
import { BertModel } from '../models/bert/model.ts';
import { arg } from './backends.ts';
import type { WeightStorage } from '../models/bert/modules.ts';
import { bertConfigFor, randomWeightSource } from '../models/bert/random-weights.ts';
import { tokenBatch, type TokenBatch } from '../prompting/common.ts';
import { classifierLogits, initClassifier, type ClassifierParams } from '../prompting/heads.ts';
import { applyPrefix, initPrefix, type PrefixParams } from '../prompting/prefix.ts';
import { applySoftPrompt, initSoftPrompt, type SoftPromptParams } from '../prompting/soft-prompt.ts';
import { adamw, type OptState } from '../training/optimizer.ts';

export interface Workload {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly vocab: number;
  readonly batch: number;
  readonly seq: number;
  readonly promptTokens: number;
  readonly labels: number;
  /** 'soft' (default): m virtual tokens before [CLS]; 'prefix': P-tuning v2 keys/values of m tokens in every layer. */
  readonly method?: 'soft' | 'prefix';
  readonly modelType?: 'bert' | 'roberta';
}

/** Rows the encoder computes per example: the text, plus the soft prompt's virtual tokens (a prefix adds only keys). */
export const encoderRows = (w: Workload): number => w.seq + (w.method === 'prefix' ? 0 : w.promptTokens);

/** `seq` counts text tokens; the encoder sees seq + promptTokens. */
export const WORKLOADS: Record<string, Workload> = {
  'bert-small': {
    layers: 4,
    hidden: 256,
    heads: 4,
    intermediate: 1024,
    vocab: 30522,
    batch: 8,
    seq: 64,
    promptTokens: 20,
    labels: 2,
  },
  'bert-base': {
    layers: 12,
    hidden: 768,
    heads: 12,
    intermediate: 3072,
    vocab: 30522,
    batch: 32,
    seq: 128,
    promptTokens: 20,
    labels: 2,
  },
  // issue #9's workload (2): RoBERTa-large shape, prefix tuning (P-tuning v2, no reparameterisation) with 16 tokens
  'roberta-large': {
    layers: 24,
    hidden: 1024,
    heads: 16,
    intermediate: 4096,
    vocab: 50265,
    batch: 8,
    seq: 256,
    promptTokens: 16,
    labels: 2,
    method: 'prefix',
    modelType: 'roberta',
  },
  // tiny: smoke runs and CI
  'bert-tiny': {
    layers: 2,
    hidden: 64,
    heads: 2,
    intermediate: 128,
    vocab: 1000,
    batch: 2,
    seq: 16,
    promptTokens: 4,
    labels: 2,
  },
};

interface Params {
  readonly [k: string]: SoftPromptParams | PrefixParams | ClassifierParams;
  readonly prompt: SoftPromptParams | PrefixParams;
  readonly head: ClassifierParams;
}

/** The command-line choices every step benchmark shares: --backend, --workload, --steps, --warmup. */
export function stepBenchArgs(defaultBackend: string): {
  backendName: string;
  wlName: string;
  w: Workload;
  steps: number;
  warmup: number;
} {
  const backendName = arg('backend', defaultBackend),
    wlName = arg('workload', 'bert-small');
  const base = WORKLOADS[wlName];
  if (!base) throw new Error(`unknown workload ${wlName}: ${Object.keys(WORKLOADS).join(', ')}`);
  // --batch, --seq, --prompt override the workload's (bench/scaling.sh sweeps them)
  const size = (name: string, d: number): number => {
    const v = Number(arg(name, String(d)));
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${name}: a positive integer, got ${arg(name, '')}`);
    return v;
  };
  const w: Workload = {
    ...base,
    batch: size('batch', base.batch),
    seq: size('seq', base.seq),
    promptTokens: size('prompt', base.promptTokens),
  };
  const big = wlName === 'bert-base' || wlName === 'roberta-large';
  return {
    backendName,
    wlName,
    w,
    steps: Number(arg('steps', big ? '3' : '10')),
    warmup: Number(arg('warmup', big ? '1' : '2')),
  };
}

export interface PromptStep {
  /** One optimisation step; returns the loss. */
  step(): Promise<number>;
  dispose(): void;
}

export const STEP_ROWS = ['needed', 'all'] as const;
export type StepRows = (typeof STEP_ROWS)[number];

export interface PromptStepOptions {
  readonly dtype?: FloatDType;
  readonly seed?: number;
  /** 'f16' keeps the frozen dense weights as halves (backends with f16 storage). */
  readonly weightStorage?: WeightStorage;
  /**
   * 'needed' (default): no layer computes padding rows (the encoder's `skipPadding`) and the last
   * layer only the row the pooled head reads (`outputPositions`); 'all': every row of every layer, as
   * Hugging Face does. Loss and gradients are the same.
   */
  readonly rows?: StepRows;
}

export function buildPromptStep(bk: Backend, w: Workload, opts: PromptStepOptions = {}): PromptStep {
  const { dtype = 'f32', seed = 0, weightStorage = 'f32', rows = 'needed' } = opts;
  const cfg = bertConfigFor({
    vocabSize: w.vocab,
    hiddenSize: w.hidden,
    numHiddenLayers: w.layers,
    numAttentionHeads: w.heads,
    intermediateSize: w.intermediate,
    ...(w.modelType ? { modelType: w.modelType } : {}),
  });
  const prefix = w.method === 'prefix';
  const [kw, kp, kh] = splitKey(prngKey(seed), 3);
  const model = BertModel.load(randomWeightSource(cfg, kw!, { mlmHead: false }), cfg, bk, dtype, { weightStorage });
  const { batch: B, seq: T, promptTokens: m } = w;
  // deterministic token ids, ragged lengths so the mask matters
  const ids = new Int32Array(B * T),
    mask = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = T - ((b * 7) % Math.max(1, T >> 2));
    for (let t = 0; t < T; t++) {
      ids[b * T + t] =
        t < len ? (t === 0 ? 101 : 1000 + ((b * 131 + t * 17) % (w.vocab - 1000))) % w.vocab : cfg.padTokenId;
      mask[b * T + t] = t < len ? 1 : 0;
    }
  }
  const batch: TokenBatch = tokenBatch(bk, B, T, ids, mask, new Int32Array(B * T));
  const labels = keep(
    tensor(
      bk,
      Int32Array.from({ length: B }, (_, b) => b % w.labels),
      { shape: [B], dtype: 'i32' },
    ),
  );
  const softCfg = { numVirtualTokens: m };
  const headRows = Array.from({ length: B }, () => [0]); // the pooler reads position 0
  let params: Params = {
    prompt: prefix ? initPrefix(model, softCfg, kp!) : initSoftPrompt(model, softCfg, kp!),
    head: initClassifier(model, w.labels, kh!),
  };
  const opt = adamw({ inPlace: true, weightDecay: 0.01 });
  let state: OptState<'m' | 'v'> = opt.init(params);
  for (const { leaf } of treeLeaves(state.slots)) keep(leaf);
  const lossFn = (p: Params): Tensor => {
    const inputs = prefix
      ? applyPrefix(model, p.prompt as PrefixParams, batch)
      : applySoftPrompt(model, p.prompt as SoftPromptParams, batch, softCfg);
    const h = model.encode(
      rows === 'needed' ? { ...inputs, outputPositions: headRows, skipPadding: true } : inputs,
    ).lastHiddenState;
    return crossEntropy(classifierLogits(model, h, p.head), labels);
  };
  const vg = valueAndGrad(lossFn);
  return {
    /** One step; the loss is read back asynchronously (the only readback), which also waits for the GPU. */
    async step(): Promise<number> {
      const loss = scope(bk, () => {
        const [value, grads] = vg(params);
        const upd = opt.update(params, grads, state, 1e-3);
        params = upd.params;
        state = upd.state;
        return value;
      });
      const v = (await loss.data())[0]!;
      loss.dispose();
      return v;
    },
    dispose() {
      model.dispose();
      labels.dispose();
      for (const t of [batch.inputIds, batch.attentionMask, batch.tokenTypeIds]) t?.dispose();
      for (const { leaf } of [...treeLeaves(params), ...treeLeaves(state.slots)]) leaf.dispose();
    },
  };
}
