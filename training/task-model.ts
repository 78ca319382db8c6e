/**
 * A frozen encoder + a prompt method + a task head, as one differentiable function of the trainable
 * tree `{ prompt, head? }`: examples → padded batch → method's encoder inputs → encoder → logits [B, C].
 * Heads: `classifier` (pooled first token → trainable Linear; a frozen seeded random pooler when the
 * checkpoint has none) or `verbalizer` (MLM scores of one label word per class at the [MASK]).
 * Each method comes from the registry in prompting/methods.ts, which gives init, encoder inputs and the offset its
 * virtual tokens add in front of the text (to find the mask position).
 */
import {
  crossEntropy,
  foldIn,
  isLinearParams,
  keep,
  randomNormal,
  splitKey,
  tensor,
  zeros,
  type ParamTree,
  type PRNGKey,
  type Tensor,
} from '../core/index.ts';
import { fillMask } from '../data/index.ts';
import type { BertModel, EncoderInputs } from '../models/bert/model.ts';
import { Linear } from '../models/bert/modules.ts';
import { tokenBatch, type TokenBatch } from '../prompting/common.ts';
import { classifierLogits, initClassifier, verbalizerLogits } from '../prompting/heads.ts';
import { methodImpl, type MethodImpl, type MethodLoss, type MethodStats } from '../prompting/methods.ts';
import type { RunConfig } from './run-config.ts';
import type { Example, TaskData } from './task-data.ts';
import type { PromptTokenizer } from './text-encoding.ts';
import { UsageError } from './usage-error.ts';

/** The trainable tree: the method's parameters and, for the classifier head, the head. */
export interface TrainParams {
  readonly [k: string]: ParamTree;
  readonly prompt: ParamTree;
}

export interface ForwardOut {
  readonly logits: Tensor;
  /** The method's training loss (e.g. InfoPrompt's MI terms), when it has one; absent = cross-entropy. */
  readonly methodLoss?: () => MethodLoss;
  /** Host-side summaries of the method's choices in this (training) forward. */
  readonly stats?: MethodStats;
}

/** What `loss` returns next to the scalar: logits, the named loss parts and the method's statistics. */
export interface LossAux {
  readonly logits: Tensor;
  readonly parts: Readonly<Record<string, Tensor>>;
  readonly stats: MethodStats;
}

/** A training step's randomness and position: dropout / sampling key (foldIn(runKey, step)) and the step. */
export interface StepContext {
  readonly key: PRNGKey;
  readonly step: number;
}

export interface TaskModel {
  readonly model: BertModel;
  readonly tokenizer: PromptTokenizer;
  readonly cfg: RunConfig;
  readonly numLabels: number;
  readonly method: MethodImpl;
  /** The frozen pooler the classifier head reads through (the checkpoint's, or a seeded random one); none for the verbalizer. */
  readonly pooler: Linear | undefined;
  /** Fresh trainable parameters (kept tensors). */
  init(key: PRNGKey): TrainParams;
  /** Host-side batch building (outside any trace). */
  batch(examples: readonly Example[]): PreparedBatch;
  /** Training mode with `train` (dropout, sampled choices); evaluation mode without. */
  forward(p: TrainParams, b: PreparedBatch, train?: StepContext): ForwardOut;
  /** Mean cross-entropy (or the method's loss, e.g. InfoPrompt's task + γ·head + β·rep + klWeight·KL) and aux. */
  loss(p: TrainParams, b: PreparedBatch, train?: StepContext): [Tensor, LossAux];
}

export interface PreparedBatch {
  readonly tokens: TokenBatch;
  readonly labels: Tensor;
  /** Row-wise mask-token index in the text (verbalizer head). */
  readonly maskIndex: readonly number[];
  readonly hostLabels: readonly number[];
}

/** A frozen pooler for checkpoints without one: N(0, initializer_range²) weight, zero bias, from the seed. */
export function randomPooler(model: BertModel, key: PRNGKey): Linear {
  const d = model.cfg.hiddenSize;
  return new Linear(
    keep(randomNormal(model.bk, key, [d, d], 0, model.cfg.initializerRange, { dtype: model.dtype })),
    keep(zeros(model.bk, [d], model.dtype)),
  );
}

export function buildTaskModel(
  model: BertModel,
  tokenizer: PromptTokenizer,
  task: TaskData,
  cfg: RunConfig,
): TaskModel {
  const method = methodImpl(cfg, model, tokenizer);
  const numLabels = task.labels.length;
  const root = foldIn([cfg.seed >>> 0, 0x50474144], 7);
  const pooler = cfg.head === 'classifier' ? (model.pooler ?? randomPooler(model, foldIn(root, 1))) : undefined;
  const wordIds =
    cfg.head === 'verbalizer'
      ? task.verbalizer.map((w, c) => {
          const id = tokenizer.wordId(w);
          if (id === undefined)
            throw new UsageError(
              `verbalizer: label word "${w}" (class ${task.labels[c]}) is not a single token of this tokenizer`,
            );
          return id;
        })
      : [];
  if (cfg.head === 'verbalizer' && !model.mlmHead)
    throw new UsageError(
      `head "verbalizer" needs an MLM head (cls.predictions.* / lm_head.*), ${cfg.model} has none: use --head classifier`,
    );
  // Virtual tokens (soft prompt or prefix, which shifts position ids) share the position table with the text.
  const textBudget = Math.min(
    cfg.maxLength,
    model.cfg.maxPositionEmbeddings -
      cfg.promptLength -
      (model.cfg.modelType === 'roberta' ? model.cfg.padTokenId + 1 : 0),
  );
  if (textBudget < 4)
    throw new UsageError(
      `--prompt-length ${cfg.promptLength} leaves no room for text in the model's ${model.cfg.maxPositionEmbeddings} positions (at least 4 text tokens); use a shorter prompt`,
    );
  const pDrop = model.cfg.classifierDropout ?? model.cfg.hiddenDropoutProb;

  const tm: TaskModel = {
    model,
    tokenizer,
    cfg,
    numLabels,
    method,
    pooler,
    init(key) {
      const [kp, kh] = splitKey(key, 2);
      const prompt = method.init(kp!);
      return cfg.head === 'classifier' ? { prompt, head: initClassifier(model, numLabels, kh!) } : { prompt };
    },
    batch(examples) {
      const views = examples.map((e) =>
        cfg.head === 'verbalizer' ? fillMask(e.pattern, tokenizer.maskToken) : e.view,
      );
      const h = tokenizer.encodeBatch(views, textBudget);
      const maskIndex =
        cfg.head === 'verbalizer'
          ? examples.map((_, b) => {
              const row = h.inputIds.subarray(b * h.T, (b + 1) * h.T);
              const i = row.indexOf(tokenizer.maskTokenId);
              if (i < 0)
                throw new UsageError(
                  `verbalizer: example ${b} lost its mask token to truncation (max length ${textBudget})`,
                );
              return i;
            })
          : [];
      const hostLabels = examples.map((e) => e.label);
      return {
        tokens: tokenBatch(
          model.bk,
          h.B,
          h.T,
          h.inputIds,
          h.attentionMask,
          model.cfg.modelType === 'roberta' || cfg.segmentIds === 'single' ? undefined : h.tokenTypeIds,
        ),
        labels: tensor(model.bk, Int32Array.from(hostLabels), { shape: [h.B], dtype: 'i32' }),
        maskIndex,
        hostLabels,
      };
    },
    forward(p, b, train) {
      const key = train?.key;
      const [kEnc, kHead, kMethod] = key && cfg.dropout ? splitKey(key, 3) : [undefined, undefined, key];
      const m = method.inputs(p['prompt'], b.tokens, train && kMethod ? { key: kMethod, step: train.step } : undefined);
      const inputs: EncoderInputs = kEnc ? { ...m.inputs, dropoutKey: kEnc } : m.inputs;
      const head = p['head'];
      if (head !== undefined && !isLinearParams(head))
        throw new TypeError(`task model: the head [${Object.keys(head).join(', ')}] is not a Linear's weight and bias`);
      const shift = (r: number) => (typeof m.offset === 'number' ? m.offset : m.offset[r]!);
      // No layer computes padding rows, and only the rows the heads read leave the last layer:
      // position 0 (the pooler; InfoPrompt's L_rep), then each example's [MASK] for the verbalizer.
      const outputPositions =
        cfg.head === 'classifier'
          ? Array.from({ length: b.labels.shape[0]! }, () => [0])
          : b.maskIndex.map((i, r) => [0, i + shift(r)]);
      const h = model.encode({ ...inputs, outputPositions, skipPadding: true }).lastHiddenState;
      const logits =
        cfg.head === 'classifier'
          ? classifierLogits(model, h, head!, {
              pooler: pooler!,
              ...(kHead ? { dropout: { key: kHead, p: pDrop } } : {}),
            })
          : verbalizerLogits(
              model,
              h,
              b.maskIndex.map(() => 1),
              wordIds,
            );
      const methodLoss = m.loss;
      return {
        logits,
        ...(methodLoss
          ? {
              methodLoss: () => methodLoss({ lastHiddenState: h, logits, labels: b.labels, ...(head ? { head } : {}) }),
            }
          : {}),
        ...(m.stats ? { stats: m.stats } : {}),
      };
    },
    loss(p, b, train) {
      const out = tm.forward(p, b, train);
      const aux = { logits: out.logits, stats: out.stats ?? {} };
      if (!out.methodLoss) return [crossEntropy(out.logits, b.labels), { ...aux, parts: {} }];
      const { total, parts } = out.methodLoss();
      return [total, { ...aux, parts }];
    },
  };
  return tm;
}
