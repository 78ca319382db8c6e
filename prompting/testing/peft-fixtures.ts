/**
 * The adapters Hugging Face PEFT itself wrote (fixtures/hf-reference/peft-adapters/, see the README
 * there) for tests: each case's folder, its base model folder, its inputs and PEFT's float64 logits.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Backend, Tensor } from '../../core/index.ts';
import type { BertModel } from '../../models/bert/model.ts';
import { tokenBatch, type TokenBatch } from '../common.ts';
import { classifierLogits } from '../heads.ts';
import type { ImportedAdapter } from '../peft-import.ts';
import { applyPrefix } from '../prefix.ts';
import { applySoftPrompt } from '../soft-prompt.ts';

export const PEFT_FIXTURES = fileURLToPath(new URL('../../fixtures/hf-reference/peft-adapters/', import.meta.url));

export interface CaseJson {
  readonly case: string;
  readonly peft_type: string;
  readonly base_model: string;
  readonly adapter_file: string;
  readonly adapter_keys: Readonly<Record<string, { readonly shape: readonly number[]; readonly dtype: string }>>;
  readonly adapter_config: Readonly<Record<string, unknown>>;
  readonly num_labels: number;
  readonly inputs: {
    readonly examples: readonly { readonly text: string; readonly text_pair?: string }[];
    readonly input_ids: readonly (readonly number[])[];
    readonly attention_mask: readonly (readonly number[])[];
    readonly token_type_ids?: readonly (readonly number[])[];
  };
  readonly logits: readonly (readonly number[])[];
}

export interface PeftCase {
  readonly model: 'bert-tiny' | 'roberta-tiny';
  readonly name: string;
  /** The adapter folder PEFT wrote. */
  readonly dir: string;
  /** The base model folder it was made on. */
  readonly baseDir: string;
  readonly json: CaseJson;
}

export function peftCases(): readonly PeftCase[] {
  return (['bert-tiny', 'roberta-tiny'] as const).flatMap((model) => {
    const root = join(PEFT_FIXTURES, model);
    const index = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')) as { cases: { case: string }[] };
    return index.cases.map(({ case: name }) => {
      const json = JSON.parse(readFileSync(join(root, name, 'case.json'), 'utf8')) as CaseJson;
      return { model, name, dir: join(root, name), baseDir: join(root, json.base_model), json };
    });
  });
}

const flat = (rows: readonly (readonly number[])[]): Int32Array => Int32Array.from(rows.flat());

/** The case's padded batch exactly as PEFT was given it. */
export function caseBatch(bk: Backend, c: CaseJson): TokenBatch {
  const ids = c.inputs.input_ids;
  const tt = c.inputs.token_type_ids;
  return tokenBatch(
    bk,
    ids.length,
    ids[0]!.length,
    flat(ids),
    flat(c.inputs.attention_mask),
    tt ? flat(tt) : undefined,
  );
}

/** Logits [B, C] of an imported SEQ_CLS adapter on a batch, the way PEFT's sequence-classification model runs it. */
export function adapterLogits(model: BertModel, a: ImportedAdapter, batch: TokenBatch): Tensor {
  if (!a.classifier) throw new Error('adapterLogits: the adapter has no classifier');
  const inputs =
    a.method.kind === 'prompt'
      ? applySoftPrompt(model, a.method.params, batch, { numVirtualTokens: a.config.num_virtual_tokens })
      : applyPrefix(model, a.method.params, batch);
  return classifierLogits(model, model.encode(inputs).lastHiddenState, a.classifier, {
    ...(a.pooler ? { pooler: a.pooler } : {}),
  });
}
