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
import {
  broadcastTo,
  crossEntropy,
  expandDims,
  keep,
  reshape,
  splitKey,
  type ParamTree,
  type PRNGKey,
  type Tensor,
} from '../core/index.ts';
import {
  cappedCrossEntropy,
  infoPromptHeadLoss,
  infoPromptLoss,
  infoPromptRepLoss,
  initInfoPromptParams,
  initLinear,
  type InfoPromptParams as RepParams,
  type LinearParams,
} from '../losses/index.ts';
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
import { infoPromptRows, unpromptedCls, type InfoPromptConfig, type InfoPromptPromptParams } from './infoprompt.ts';
import { applyPrefix, initPrefix, type PrefixConfig, type PrefixParams } from './prefix.ts';
import {
  applySoftPrompt,
  initPromptRows,
  initSoftPrompt,
  spliceSoftPrompt,
  type SoftPromptConfig,
  type SoftPromptParams,
} from './soft-prompt.ts';
import type { MethodName, RunConfig } from '../training/run-config.ts';
import { UsageError } from '../training/usage-error.ts';
import type { PromptTokenizer } from '../training/text-encoding.ts';
import {
  defineMethod,
  hasTensors,
  optionalLinear,
  type MethodImpl,
  type MethodLoss,
  type MethodLossContext,
  type PeftExport,
} from './define-method.ts';

export type {
  MethodDef,
  MethodImpl,
  MethodInputs,
  MethodLoss,
  MethodLossContext,
  MethodStats,
  MethodTrain,
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

/** Row-wise argmax of a host [B, C] array (first maximum). */
function rowArgmax(w: ArrayLike<number>, B: number, C: number): number[] {
  return Array.from({ length: B }, (_, b) => {
    let best = 0;
    for (let j = 1; j < C; j++) if (w[b * C + j]! > w[b * C + best]!) best = j;
    return best;
  });
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

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
      const { position, length, pool } = out.weights;
      // Split point j per row (forward values are exactly one-hot): P[:j] precedes the text, which moves right by j.
      const split = position ? rowArgmax(position.dataSync(), batch.B, m + 1) : new Array<number>(batch.B).fill(m);
      const offset = split;
      if (!train) return { inputs: out.inputs, offset };
      const stats: Record<string, number | string> = { gumbelTau: t! };
      if (position) {
        const hist = new Array<number>(m + 1).fill(0);
        for (const j of split) hist[j]! += 1;
        stats['dynPositionMean'] = mean(split);
        stats['dynPositionHist'] = hist.join(' ');
      }
      if (length) stats['dynLengthMean'] = mean(rowArgmax(length.dataSync(), batch.B, m).map((l) => l + 1));
      if (pool) {
        const k = cfg.poolSize,
          w = pool.dataSync();
        stats['dynPoolMaxWeight'] = mean(
          Array.from({ length: batch.B }, (_, b) => Math.max(...Array.from(w.subarray(b * k, (b + 1) * k), Number))),
        );
      }
      return { inputs: out.inputs, offset, stats };
    },
    peft: () => {
      throw new UsageError(DYNAMIC_NOT_PEFT);
    },
  });
}

/** InfoPrompt's trainable tree under `prompt`: the prompt (plain or generator) and L_rep's bottleneck + projection. */
export interface InfoPromptMethodParams {
  readonly prompt: InfoPromptPromptParams;
  readonly rep: RepParams;
}

/** Unprompted negatives per example for L_rep (InfoPrompt's code: 4, so K = 4·B). */
const NEGATIVES_PER_EXAMPLE = 4;

function infoprompt(cfg: RunConfig, model: BertModel, tokenizer: PromptTokenizer): MethodImpl {
  const m = cfg.promptLength,
    d = model.cfg.hiddenSize;
  const init = promptInit(cfg, tokenizer);
  const ic: InfoPromptConfig = {
    numVirtualTokens: m,
    numLabels: 2,
    placement: cfg.placement,
    init,
    bottleneckDim: cfg.bottleneckDim,
    ...(cfg.generatorHidden > 0 ? { generator: { hidden: cfg.generatorHidden } } : {}),
  };
  const weights = { gamma: cfg.gamma, beta: cfg.beta, klWeight: cfg.klWeight };
  const keepLin = (p: LinearParams): LinearParams => ({ weight: keep(p.weight), bias: keep(p.bias) });
  return defineMethod<InfoPromptMethodParams>({
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
    init: (key) => {
      const [kp, k1, k2, kr] = splitKey(key, 4) as [PRNGKey, PRNGKey, PRNGKey, PRNGKey];
      const h = cfg.generatorHidden;
      const prompt: InfoPromptPromptParams =
        h > 0
          ? {
              generator: {
                fc1: keepLin(initLinear(model.bk, k1, d, h, model.dtype)),
                fc2: keepLin(initLinear(model.bk, k2, h, m * d, model.dtype)),
              },
            }
          : { promptEmbeddings: keep(initPromptRows(model, m, init, kp)) };
      const r = initInfoPromptParams(model.bk, kr, { d, k: cfg.bottleneckDim }, model.dtype);
      const rep: RepParams = {
        bottleneck: { mu: keepLin(r.bottleneck.mu), logVar: keepLin(r.bottleneck.logVar) },
        projection: keepLin(r.projection),
      };
      return { prompt, rep };
    },
    inputs: (p, batch, train) => {
      let clsU: Tensor | undefined;
      const cls = () => (clsU ??= unpromptedCls(model, batch)); // one extra unprompted pass, shared
      const P = infoPromptRows(p.prompt, ic, cls); // [m, d] or [B, m, d]
      const Pb = P.rank === 2 ? broadcastTo(expandDims(P, 0), [batch.B, m, d]) : P;
      const inputs = spliceSoftPrompt(model, Pb, batch, cfg.placement);
      const loss = (ctx: MethodLossContext): MethodLoss => {
        if (!ctx.head) throw new Error('infoprompt: needs the classifier head (L_head reads its weights)');
        const task =
          cfg.lossCap > 0
            ? cappedCrossEntropy(ctx.logits, ctx.labels, cfg.lossCap)
            : crossEntropy(ctx.logits, ctx.labels);
        const head = infoPromptHeadLoss({
          prompt: P,
          headRep: ctx.head.weight,
          tokenEmbeds: model.embed(batch.inputIds),
          attentionMask: batch.attentionMask,
        }).loss;
        const unprompted = reshape(broadcastTo(expandDims(cls(), 0), [NEGATIVES_PER_EXAMPLE, batch.B, d]), [
          NEGATIVES_PER_EXAMPLE * batch.B,
          d,
        ]);
        const rep = infoPromptRepLoss({
          prompt: P,
          prompted: rowsAtPosition(model, ctx.lastHiddenState, 0),
          unprompted,
          params: p.rep,
          key: train?.key ?? [0, 0],
          sample: train !== undefined,
        });
        const parts = { task, head, rep: rep.loss, kl: rep.kl };
        return { total: infoPromptLoss(parts, weights), parts };
      };
      return { inputs, offset: m, loss };
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
