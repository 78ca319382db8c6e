/**
 * The prompt methods behind one interface, as a registry keyed by method name (METHOD_REGISTRY; PEFT's
 * PEFT_TYPE_TO_CONFIG_MAPPING is the model): each entry is `defineMethod<P>({ … })` over its own typed
 * parameter tree P — initial parameters, the encoder inputs for a batch, how many virtual tokens precede
 * each row's text (the verbalizer's mask index shifts by it), an optional training loss that replaces
 * plain cross-entropy (InfoPrompt), host-side statistics for the log, and what PEFT export needs.
 * The loop and checkpoints hold the erased tree (ParamTree); each method narrows it back to P with a
 * checked type guard, never a cast.
 *
 * Randomness: in training the loop hands each step `{ key: foldIn(runKey, step)-derived, step }`; every
 * sample (Gumbel noise of dynamic prompting, InfoPrompt's bottleneck noise) comes from that key and the
 * Gumbel temperature from `step`, so a resumed run repeats them exactly. Evaluation passes nothing:
 * dynamic choices are the argmax, InfoPrompt's bottleneck uses its means (and its loss is not needed).
 */
import { add, argmax, cast, max, mean, oneHot, stopGradient, sum, type ParamTree, type Tensor } from '../core/index.ts';
import type { BertModel } from '../models/bert/model.ts';
import type { PromptInit } from './common.ts';
import {
  applyDynamicPrompt,
  initDynamicPrompt,
  type DynamicPromptConfig,
  type DynamicPromptParams,
} from './dynamic.ts';
import { gumbelTemperature } from './gumbel.ts';
import { rowsAtPosition } from './heads.ts';
import {
  infoPromptInputs,
  infoPromptObjective,
  initInfoPromptMethodParams,
  type InfoPromptBatchInputs,
  type InfoPromptMethodConfig,
  type InfoPromptMethodParams,
} from './infoprompt.ts';
import { applyPrefix, initPrefix, type PrefixConfig, type PrefixParams } from './prefix.ts';
import { applySoftPrompt, initSoftPrompt, type SoftPromptConfig, type SoftPromptParams } from './soft-prompt.ts';
import type { MethodName, RunConfig } from '../training/run-config.ts';
import { UsageError } from '../training/usage-error.ts';
import type { PromptTokenizer } from '../training/text-encoding.ts';
import {
  defineMethod,
  hasTensors,
  optionalLinear,
  type MethodForward,
  type MethodImpl,
  type PeftExport,
} from './define-method.ts';

export type {
  MethodDef,
  MethodForward,
  MethodImpl,
  MethodInputs,
  MethodLoss,
  MethodLossContext,
  MethodStats,
  MethodTrain,
  OffsetChoice,
  PeftExport,
} from './define-method.ts';

/** --init → PromptInit (text is tokenised without special tokens). */
export function promptInit(cfg: RunConfig, tokenizer: PromptTokenizer): PromptInit {
  if (cfg.init === 'random') return { kind: 'random' };
  if (cfg.init === 'vocab') return { kind: 'vocab' };
  const b = tokenizer.encodeBatch([{ text: cfg.initText }], cfg.maxLength);
  const ids = Array.from(b.inputIds.subarray(1, b.T - 1)); // drop [CLS] … [SEP]
  return { kind: 'text', ids };
}

function soft(cfg: RunConfig, model: BertModel, tokenizer: PromptTokenizer): MethodImpl {
  const init = promptInit(cfg, tokenizer);
  const sc: SoftPromptConfig = { numVirtualTokens: cfg.promptLength, placement: cfg.placement, init };
  return defineMethod<SoftPromptParams>({
    name: 'soft',
    promptInit: init,
    is: (t): t is SoftPromptParams => hasTensors(t, ['promptEmbeddings']),
    init: (key) => initSoftPrompt(model, sc, key),
    inputs: (p, batch) => ({ inputs: applySoftPrompt(model, p, batch, sc), offset: cfg.promptLength }),
    peft: (p) => {
      refuseAfterCls(cfg);
      return { kind: 'prompt', params: p };
    },
  });
}

/** PEFT's PROMPT_TUNING prepends the prompt before [CLS]; a prompt trained after [CLS] would load as a different model. */
function refuseAfterCls(cfg: RunConfig): void {
  if (cfg.placement !== 'before-cls')
    throw new UsageError(
      `export-peft: this ${cfg.method} prompt was trained with --placement ${cfg.placement}, but PEFT PROMPT_TUNING always places the virtual tokens before [CLS]; the adapter would be a different model (train with --placement before-cls to export)`,
    );
}

function prefix(cfg: RunConfig, model: BertModel): MethodImpl {
  const pc: PrefixConfig = {
    numVirtualTokens: cfg.promptLength,
    ...(cfg.prefixProjection > 0 ? { projectionHiddenSize: cfg.prefixProjection } : {}),
  };
  return defineMethod<PrefixParams>({
    name: 'prefix',
    is: (t): t is PrefixParams =>
      hasTensors(t, ['embedding']) &&
      (!('transform0' in t) ||
        hasTensors(t, ['transform0.weight', 'transform0.bias', 'transform2.weight', 'transform2.bias'])),
    init: (key) => initPrefix(model, pc, key),
    inputs: (p, batch) => ({ inputs: applyPrefix(model, p, batch), offset: 0 }),
    peft: (p) => ({ kind: 'prefix', params: p }),
  });
}

/**
 * Why a dynamic prompt is no PEFT PROMPT_TUNING adapter: PEFT always puts all m virtual tokens in front
 * of [CLS] for every input, while a dynamic prompt splits them around the text between [CLS] and [SEP]
 * (position), masks a chosen number of them (length) and mixes k prompt sets per input (pool), the
 * instance-level choices from a network on the unprompted encoding. None of that is expressible in
 * PEFT's adapter format, and exporting only the prompt rows would silently give a different model.
 */
export const DYNAMIC_NOT_PEFT =
  'export-peft: a dynamic prompt is not a PEFT PROMPT_TUNING adapter: PEFT always prepends all m virtual tokens before [CLS], ' +
  'while dynamic prompting splits them around the text between [CLS] and [SEP], chooses a length by masking, and can mix a prompt pool per input; ' +
  'an exported prompt would be a different model. Use `promptgrad eval` / `predict` on the run folder, or train --method soft for a PEFT adapter.';

function dynamic(cfg: RunConfig, model: BertModel, tokenizer: PromptTokenizer): MethodImpl {
  const m = cfg.promptLength;
  const init = promptInit(cfg, tokenizer);
  const dc: DynamicPromptConfig = {
    numVirtualTokens: m,
    init,
    instanceRelu: cfg.instanceRelu,
    ...(cfg.dynamicPosition !== 'none' ? { position: cfg.dynamicPosition } : {}),
    ...(cfg.dynamicLength !== 'none' ? { length: cfg.dynamicLength } : {}),
    ...(cfg.poolSize > 0 ? { pool: { k: cfg.poolSize } } : {}),
  };
  const tau = (step: number) =>
    gumbelTemperature(step, { start: cfg.gumbelTauStart, min: cfg.gumbelTauMin, rate: cfg.gumbelRate });
  /** A choice is task-level logits or an instance-level Linear. */
  const choice = (t: ParamTree, key: string): boolean =>
    !(key in t) || hasTensors(t, [`${key}.logits`]) || optionalLinear(t, key);
  return defineMethod<DynamicPromptParams>({
    name: 'dynamic',
    promptInit: init,
    is: (t): t is DynamicPromptParams =>
      hasTensors(t, ['prompt']) && optionalLinear(t, 'pool') && choice(t, 'position') && choice(t, 'length'),
    init: (key) => initDynamicPrompt(model, dc, key),
    inputs: (p, batch, train) => {
      const t = train ? tau(train.step) : undefined;
      const out = applyDynamicPrompt(
        model,
        p,
        batch,
        dc,
        train && t !== undefined ? { sample: { key: train.key, tau: t, hard: true } } : {},
      );
      const { length, pool } = out.weights,
        split = out.split;
      // P[:j] precedes the text, which moves right by j: the offset's one-hot is the split's (on the device).
      const offset = split ? { weights: oneHot(split, m + 1, model.dtype) } : m;
      if (!train) return { inputs: out.inputs, offset };
      const asFloat = (x: Tensor) => cast(x, model.dtype);
      const stats: Record<string, number | string | Tensor> = { gumbelTau: t! };
      if (split) {
        stats['dynPositionMean'] = mean(asFloat(split));
        stats['dynPositionHist'] = sum(oneHot(split, m + 1, model.dtype), 0);
      }
      if (length) stats['dynLengthMean'] = add(mean(asFloat(argmax(length, -1))), 1);
      if (pool) stats['dynPoolMaxWeight'] = mean(max(stopGradient(pool), -1));
      return { inputs: out.inputs, offset, stats };
    },
    peft: () => {
      throw new UsageError(DYNAMIC_NOT_PEFT);
    },
  });
}

/** The registry's InfoPrompt forward: what its loss reuses from the batch's prompted inputs. */
interface InfoPromptStep extends MethodForward {
  readonly prompted: InfoPromptBatchInputs;
}

function infoprompt(cfg: RunConfig, model: BertModel, tokenizer: PromptTokenizer): MethodImpl {
  const init = promptInit(cfg, tokenizer);
  const ic: InfoPromptMethodConfig = {
    numVirtualTokens: cfg.promptLength,
    placement: cfg.placement,
    init,
    bottleneckDim: cfg.bottleneckDim,
    weights: { gamma: cfg.gamma, beta: cfg.beta, klWeight: cfg.klWeight },
    ...(cfg.lossCap > 0 ? { lossCap: cfg.lossCap } : {}),
    ...(cfg.generatorHidden > 0 ? { generator: { hidden: cfg.generatorHidden } } : {}),
  };
  return defineMethod<InfoPromptMethodParams, InfoPromptStep>({
    name: 'infoprompt',
    promptInit: init,
    is: (t): t is InfoPromptMethodParams =>
      (hasTensors(t, ['prompt.promptEmbeddings']) ||
        hasTensors(t, [
          'prompt.generator.fc1.weight',
          'prompt.generator.fc1.bias',
          'prompt.generator.fc2.weight',
          'prompt.generator.fc2.bias',
        ])) &&
      hasTensors(t, [
        'rep.bottleneck.mu.weight',
        'rep.bottleneck.mu.bias',
        'rep.bottleneck.logVar.weight',
        'rep.bottleneck.logVar.bias',
        'rep.projection.weight',
        'rep.projection.bias',
      ]),
    init: (key) => initInfoPromptMethodParams(model, ic, key),
    inputs: (p, batch) => {
      const prompted = infoPromptInputs(model, p, batch, ic);
      return { inputs: prompted.inputs, offset: cfg.promptLength, prompted };
    },
    loss: (p, ctx, step, train) => {
      if (!ctx.head) throw new Error('infoprompt: needs the classifier head (L_head reads its weights)');
      const { loss, parts } = infoPromptObjective(model, p, ic, step.prompted, {
        logits: ctx.logits,
        labels: ctx.labels,
        headWeight: ctx.head.weight,
        prompted: rowsAtPosition(model, ctx.lastHiddenState, 0),
        key: train?.key ?? [0, 0],
        sample: train !== undefined,
      });
      return { total: loss, parts };
    },
    ...(cfg.generatorHidden > 0
      ? {
          peft: () => {
            throw new UsageError(
              `export-peft: this InfoPrompt run generates its prompt per input (--generator-hidden ${cfg.generatorHidden}), which no PEFT adapter can hold; train with --generator-hidden 0 (a plain prompt) to export it as a PEFT PROMPT_TUNING adapter`,
            );
          },
        }
      : {
          // A plain InfoPrompt prompt is a soft prompt: the MI terms only shape training, the model is prompt + head.
          peft: (p: InfoPromptMethodParams): PeftExport => {
            refuseAfterCls(cfg);
            if (!('promptEmbeddings' in p.prompt))
              throw new UsageError(
                'export-peft: this InfoPrompt run has a prompt generator, which no PEFT adapter can hold',
              );
            return { kind: 'prompt', params: { promptEmbeddings: p.prompt.promptEmbeddings } };
          },
        }),
  });
}

/** Builds a method for a run: its options come from the run's config, its shapes from the model. */
export type MethodFactory = (cfg: RunConfig, model: BertModel, tokenizer: PromptTokenizer) => MethodImpl;

/** Every method by name; a method name without an entry does not compile. */
export const METHOD_REGISTRY: { readonly [M in MethodName]: MethodFactory } = { soft, prefix, dynamic, infoprompt };

export const methodImpl: MethodFactory = (cfg, model, tokenizer) => METHOD_REGISTRY[cfg.method](cfg, model, tokenizer);
