/**
 * What a prompt method is (MethodDef, over its own parameter tree P) and how the task model drives it
 * (MethodImpl, over the erased tree the loop and checkpoints hold): `defineMethod` turns the one into
 * the other, narrowing the tree with the method's checked type guard instead of a cast. The methods
 * themselves and their registry are in methods.ts.
 */
import type { ParamTree, PRNGKey, Tensor } from '../core/index.ts';
import { isTensor } from '../core/tensor/tensor.ts';
import type { EncoderInputs } from '../models/bert/model.ts';
import type { MethodName } from '../training/run-config.ts';
import type { PromptInit, TokenBatch } from './common.ts';
import type { ClassifierParams } from './heads.ts';
import type { PrefixParams } from './prefix.ts';
import type { SoftPromptParams } from './soft-prompt.ts';

/** One training step's context for the method: its own key and the optimiser step (for schedules). */
export interface MethodTrain {
  readonly key: PRNGKey;
  readonly step: number;
}

export interface MethodLossContext {
  /**
   * [B, R, d]: the final hidden states of the rows the task model asks the encoder for (its
   * `outputPositions`); row 0 is always position 0 ([CLS] or the first prompt token).
   */
  readonly lastHiddenState: Tensor;
  /** [B, C] */
  readonly logits: Tensor;
  /** i32 [B] */
  readonly labels: Tensor;
  readonly head?: ClassifierParams;
}

export interface MethodLoss {
  /** The step's loss (replaces the plain mean cross-entropy). */
  readonly total: Tensor;
  /** Named scalar terms (unweighted) for the metrics log. */
  readonly parts: Readonly<Record<string, Tensor>>;
}

/**
 * Summaries of a training step's choices for the metrics log: host values, or device tensors read back
 * with the step's loss (a scalar is logged as a number, a vector as its values joined by spaces).
 */
export type MethodStats = Readonly<Record<string, number | string | Tensor>>;

/** Per-row offsets chosen on the device: one-hot weights [B, M+1] over the offsets 0..M. */
export interface OffsetChoice {
  readonly weights: Tensor;
}

/** What a method builds for one batch: the encoder inputs, the text offset and the step's statistics. */
export interface MethodForward {
  readonly inputs: EncoderInputs;
  /** Tokens placed in front of the text positions in the encoder output: one number, or chosen per row. */
  readonly offset: number | OffsetChoice;
  /** Host-side summaries of the step's choices (training only), e.g. mean chosen prompt length. */
  readonly stats?: MethodStats;
}

/** The forward as the task model sees it: with the method's loss bound to this batch, when it has one. */
export interface MethodInputs extends MethodForward {
  /** Training loss with the method's extra terms (InfoPrompt); absent = mean cross-entropy. */
  readonly loss?: (ctx: MethodLossContext) => MethodLoss;
}

/** What PEFT export needs from a method that has a PEFT equivalent. */
export type PeftExport = { kind: 'prompt'; params: SoftPromptParams } | { kind: 'prefix'; params: PrefixParams };

/**
 * One method over its own parameter tree P. `inputs` may return more than MethodForward (F): what its
 * `loss` reuses from the same batch (InfoPrompt: the prompt rows and the unprompted encoding).
 */
export interface MethodDef<P extends ParamTree, F extends MethodForward = MethodForward> {
  readonly name: MethodName;
  readonly promptInit?: PromptInit;
  /** Whether an erased tree (from the loop or a checkpoint) is this method's P: checks every tensor it reads. */
  readonly is: (tree: ParamTree) => tree is P;
  readonly init: (key: PRNGKey) => P;
  readonly inputs: (params: P, batch: TokenBatch, train?: MethodTrain) => F;
  /** Training loss that replaces plain mean cross-entropy, from the encoder's output for `forward`'s batch. */
  readonly loss?: (params: P, ctx: MethodLossContext, forward: F, train?: MethodTrain) => MethodLoss;
  /** Throws a UsageError saying why not when the method has no PEFT equivalent. */
  readonly peft?: (params: P) => PeftExport;
}

/** A method as the task model drives it: over the erased tree the loop and checkpoints hold. */
export interface MethodImpl {
  readonly name: MethodName;
  init(key: PRNGKey): ParamTree;
  inputs(params: ParamTree, batch: TokenBatch, train?: MethodTrain): MethodInputs;
  /** What PEFT export needs, when the method has a PEFT equivalent (throws a UsageError saying why not otherwise). */
  readonly peft?: (params: ParamTree) => PeftExport;
  readonly promptInit?: PromptInit;
}

/** The erased method of a typed definition: every entry narrows the tree with the definition's guard. */
export function defineMethod<P extends ParamTree, F extends MethodForward = MethodForward>(
  def: MethodDef<P, F>,
): MethodImpl {
  const own = (tree: ParamTree): P => {
    if (!def.is(tree))
      throw new TypeError(
        `${def.name}: the prompt parameters [${Object.keys(tree).join(', ')}] are not this method's (a checkpoint of another --method or prompt shape?)`,
      );
    return tree;
  };
  const { peft, loss } = def;
  return {
    name: def.name,
    ...(def.promptInit ? { promptInit: def.promptInit } : {}),
    init: def.init,
    inputs: (tree, batch, train) => {
      const params = own(tree);
      const forward = def.inputs(params, batch, train);
      const step: MethodInputs = {
        inputs: forward.inputs,
        offset: forward.offset,
        ...(forward.stats ? { stats: forward.stats } : {}),
      };
      return loss ? { ...step, loss: (ctx) => loss(params, ctx, forward, train) } : step;
    },
    ...(peft ? { peft: (tree: ParamTree) => peft(own(tree)) } : {}),
  };
}

/** Whether `tree` holds a tensor at each dot-separated path: the guards' one check. */
export function hasTensors(tree: ParamTree, paths: readonly string[]): boolean {
  return paths.every((path) => {
    let v: unknown = tree;
    for (const k of path.split('.'))
      v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
    return isTensor(v);
  });
}
/** Whether `tree[key]`, when present, is a Linear's weight and bias. */
export const optionalLinear = (tree: ParamTree, key: string): boolean =>
  !(key in tree) || hasTensors(tree, [`${key}.weight`, `${key}.bias`]);
