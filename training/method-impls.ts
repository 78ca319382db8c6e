/**
 * The prompt methods behind one interface: initial parameters, the encoder inputs for a batch, how many
 * virtual tokens precede the text (the verbalizer's mask index shifts by it) and optional extra loss terms.
 */
import { type ParamTree, type PRNGKey, type Tensor } from '../core/index.ts';
import type { BertModel, EncoderInputs } from '../models/bert/model.ts';
import type { PromptInit, TokenBatch } from '../prompting/common.ts';
import { applyPrefix, initPrefix, type PrefixConfig, type PrefixParams } from '../prompting/prefix.ts';
import { applySoftPrompt, initSoftPrompt, type SoftPromptConfig, type SoftPromptParams } from '../prompting/soft-prompt.ts';
import type { RunConfig } from './run-config.ts';
import type { PromptTokenizer } from './text-encoding.ts';

export interface MethodInputs {
  readonly inputs: EncoderInputs;
  /** Tokens placed in front of the text positions in the encoder output. */
  readonly offset: number;
  /** Weighted extra loss from the last hidden state and logits (InfoPrompt). */
  readonly extraLoss?: (lastHiddenState: Tensor, logits: Tensor) => Tensor;
}

export interface MethodImpl {
  readonly name: RunConfig['method'];
  init(key: PRNGKey): ParamTree;
  inputs(params: ParamTree, batch: TokenBatch, key?: PRNGKey): MethodInputs;
  /** What PEFT export needs, when the method has a PEFT equivalent. */
  readonly peft?: (params: ParamTree) => { kind: 'prompt'; params: SoftPromptParams } | { kind: 'prefix'; params: PrefixParams };
  readonly promptInit?: PromptInit;
}

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
  return {
    name: 'soft', promptInit: init,
    init: (key) => initSoftPrompt(model, sc, key) as unknown as ParamTree,
    inputs: (p, batch) => ({ inputs: applySoftPrompt(model, p as unknown as SoftPromptParams, batch, sc), offset: cfg.promptLength }),
    peft: (p) => ({ kind: 'prompt', params: p as unknown as SoftPromptParams }),
  };
}

function prefix(cfg: RunConfig, model: BertModel): MethodImpl {
  const pc: PrefixConfig = { numVirtualTokens: cfg.promptLength, ...(cfg.prefixProjection > 0 ? { projectionHiddenSize: cfg.prefixProjection } : {}) };
  return {
    name: 'prefix',
    init: (key) => initPrefix(model, pc, key) as unknown as ParamTree,
    inputs: (p, batch) => ({ inputs: applyPrefix(model, p as unknown as PrefixParams, batch), offset: 0 }),
    peft: (p) => ({ kind: 'prefix', params: p as unknown as PrefixParams }),
  };
}

export function methodImpl(cfg: RunConfig, model: BertModel, tokenizer: PromptTokenizer): MethodImpl {
  switch (cfg.method) {
    case 'soft': return soft(cfg, model, tokenizer);
    case 'prefix': return prefix(cfg, model);
    case 'dynamic':
    case 'infoprompt':
      throw new Error(`method "${cfg.method}" is not available in this build yet (prompting/${cfg.method === 'dynamic' ? 'dynamic' : 'infoprompt'}.ts)`);
  }
}
