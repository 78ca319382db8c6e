/**
 * Importing a PEFT adapter checks it against the model before anything runs, naming each mismatch:
 * peft_type, task_type, num_virtual_tokens, token_dim, num_layers, num_attention_heads,
 * num_transformer_submodules, the head's names and shapes, the pooler a BERT head needs, tensors nobody
 * would apply, missing files. F16 and BF16 adapters import (values as the halves hold them).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuBackend } from '../core/index.ts';
import type { BertModel } from '../models/bert/model.ts';
import { parseSafetensorsOrThrow, serializeSafetensors } from '../models/bert/io/safetensors.ts';
import { expectWithin } from '../models/bert/testing/within.ts';
import { loadModel } from '../training/run-setup.ts';
import { UsageError } from '../training/usage-error.ts';
import { importPeftAdapter } from './peft-import.ts';
import { adapterLogits, caseBatch, PEFT_FIXTURES, peftCases } from './testing/peft-fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pg-peft-validate-'));
const bk = cpuBackend();
const models: Record<string, BertModel> = {};
const model = async (name: 'bert-tiny' | 'roberta-tiny', base = 'base') =>
  (models[`${name}/${base}`] ??= await loadModel(join(PEFT_FIXTURES, name, base), 'f64', bk));
const bertA = join(PEFT_FIXTURES, 'bert-tiny', 'a-prompt-tuning');
const robertaA = join(PEFT_FIXTURES, 'roberta-tiny', 'a-prompt-tuning');

let n = 0;
/** A copy of an adapter folder with its config changed. */
function variant(src: string, change: Record<string, unknown> = {}): string {
  const dir = join(tmp, `v${n++}`);
  cpSync(src, dir, { recursive: true });
  const file = join(dir, 'adapter_config.json');
  writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), ...change }));
  return dir;
}

/** The adapter's tensors rewritten (renamed, dropped, added) into its safetensors file. */
function withTensors(dir: string, edit: (t: Map<string, { shape: number[]; data: Float32Array }>) => void): string {
  const file = join(dir, 'adapter_model.safetensors');
  const parsed = parseSafetensorsOrThrow(new Uint8Array(readFileSync(file)), file);
  const m = new Map(parsed.tensors.map((t) => [t.name, { shape: [...t.shape], data: t.data as Float32Array }]));
  edit(m);
  const raws = [...m].map(([name, t]) => ({ name, dtype: 'f32' as const, shape: t.shape, data: t.data }));
  writeFileSync(file, serializeSafetensors(raws));
  return dir;
}

const refuses = async (dir: string, re: RegExp, m?: BertModel) => {
  const mdl = m ?? (await model('bert-tiny'));
  try {
    importPeftAdapter(dir, mdl);
  } catch (e) {
    assert.instance(e, UsageError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected ${re}`);
};

test('peft_type and task_type', async () => {
  await refuses(
    variant(bertA, { peft_type: 'LORA' }),
    /peft_type "LORA": PromptGrad imports PROMPT_TUNING and PREFIX_TUNING adapters only/,
  );
  await refuses(
    variant(bertA, { task_type: 'CAUSAL_LM' }),
    /task_type "CAUSAL_LM": PromptGrad has no CAUSAL_LM head for an encoder/,
  );
  await refuses(
    variant(bertA, { task_type: 'SEQ_CLASS' }),
    /task_type "SEQ_CLASS" is not a PEFT task type \(SEQ_CLS, TOKEN_CLS/,
  );
  await refuses(variant(bertA, { task_type: null }), /task_type null is not a PEFT task type/);
});

test('sizes against the model, each named', async () => {
  await refuses(variant(bertA, { token_dim: 64 }), /token_dim 64: the model's hidden_size is 32/);
  await refuses(variant(bertA, { num_layers: 3 }), /num_layers 3: the model's num_hidden_layers is 2/);
  await refuses(
    variant(bertA, { num_attention_heads: 8 }),
    /num_attention_heads 8: the model's num_attention_heads is 4/,
  );
  await refuses(variant(bertA, { num_transformer_submodules: 2 }), /num_transformer_submodules 2: an encoder has 1/);
  await refuses(variant(bertA, { num_virtual_tokens: 0 }), /num_virtual_tokens 0: must be a positive integer/);
  await refuses(
    variant(bertA, { num_virtual_tokens: 61 }),
    /num_virtual_tokens 61: leaves no room for text in the model's 64 usable positions/,
  );
  await refuses(
    variant(bertA, { num_virtual_tokens: 5 }),
    /prompt_embeddings is \[4, 32\], the config implies \[5, 32\]/,
  );
  await refuses(
    variant(join(PEFT_FIXTURES, 'bert-tiny', 'b-prefix-tuning'), { num_layers: 1 }),
    /num_layers 1: the model's num_hidden_layers is 2/,
  );
  // All at once: one message naming every mismatch, with the model's sizes.
  await refuses(
    variant(bertA, { token_dim: 16, num_layers: 4, num_attention_heads: 2 }),
    /does not fit the bert model \(hidden 32, 2 layers, 4 heads\): token_dim 16: .*; num_layers 4: .*; num_attention_heads 2: /,
  );
  // The same adapter on a model of other sizes (RoBERTa head names, right sizes) is accepted only when they fit.
  await refuses(variant(robertaA, { token_dim: 48 }), /token_dim 48/, await model('roberta-tiny'));
});

test('files: config, weights (.safetensors or .bin), JSON', async () => {
  await refuses(join(tmp, 'nowhere'), /no adapter_config\.json; expected a PEFT adapter folder/);
  const noWeights = variant(bertA);
  unlinkSync(join(noWeights, 'adapter_model.safetensors'));
  await refuses(noWeights, /neither adapter_model\.safetensors nor adapter_model\.bin is there/);
  const badJson = variant(bertA);
  writeFileSync(join(badJson, 'adapter_config.json'), '{"peft_type": ');
  await refuses(badJson, /adapter_config\.json: not valid JSON/);
  const badBin = variant(join(PEFT_FIXTURES, 'bert-tiny', 'd-prompt-tuning-bin'));
  writeFileSync(join(badBin, 'adapter_model.bin'), 'not a zip');
  await refuses(badBin, /adapter_model\.bin.*not a torch\.save zip archive/);
});

test('heads: the model type, the classifier, the pooler a BERT head reads', async () => {
  await refuses(
    robertaA,
    /holds a RobertaForSequenceClassification: classifier\.dense \+ classifier\.out_proj head \(base_model\.classifier\.out_proj\.weight\), but the model is bert/,
  );
  await refuses(
    withTensors(variant(bertA), (t) => {
      t.delete('base_model.classifier.weight');
      t.delete('base_model.classifier.bias');
    }),
    /task_type SEQ_CLS but no base_model\.classifier\.weight: the adapter carries no classification head/,
  );
  await refuses(
    withTensors(variant(robertaA), (t) => {
      t.delete('base_model.classifier.dense.weight');
    }),
    /no base_model\.classifier\.dense\.weight: a RobertaForSequenceClassification: .* head needs both layers/,
    await model('roberta-tiny'),
  );
  await refuses(
    withTensors(variant(bertA), (t) => {
      t.set('base_model.classifier.weight', { shape: [3, 16], data: new Float32Array(48) });
    }),
    /base_model\.classifier\.weight is \[3, 16\], the classifier weight must be \[labels, 32\]/,
  );
  // Case a (pooler in the base) on the pooler-less base: transformers would initialise the pooler randomly.
  await refuses(
    bertA,
    /the model has no pooler \(bert\.pooler\.dense\.\*\) and the adapter carries none \("pooler" is not in modules_to_save\)/,
    await model('bert-tiny', 'base-no-pooler'),
  );
  await refuses(
    withTensors(variant(bertA), (t) => {
      t.set('base_model.bert.embeddings.LayerNorm.weight', { shape: [32], data: new Float32Array(32) });
    }),
    /carries base_model\.bert\.embeddings\.LayerNorm\.weight, which PromptGrad cannot apply/,
  );
});

/** IEEE half from a float (round to nearest even), as torch's .half() stores it. */
function toHalfBits(x: number): number {
  const f = new Float32Array([x]),
    u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000,
    exp = ((u >>> 23) & 0xff) - 127 + 15,
    mant = u & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    const m = (mant | 0x800000) >>> (1 - exp + 13),
      rest = (mant | 0x800000) & ((1 << (1 - exp + 13)) - 1),
      half = 1 << (1 - exp + 12);
    return sign | (m + (rest > half || (rest === half && m & 1) ? 1 : 0));
  }
  if (exp >= 31) return sign | 0x7c00;
  const m = mant >>> 13,
    rest = mant & 0x1fff;
  return (sign | (exp << 10) | m) + (rest > 0x1000 || (rest === 0x1000 && m & 1) ? 1 : 0);
}

/** The case's tensors rewritten as F16 or BF16 (a hand-built safetensors file: the writer has no halves). */
function halfCopy(src: string, dtype: 'F16' | 'BF16'): { dir: string; original: Map<string, Float32Array> } {
  const dir = variant(src);
  const file = join(dir, 'adapter_model.safetensors');
  const { tensors } = parseSafetensorsOrThrow(new Uint8Array(readFileSync(file)), file);
  const header: Record<string, unknown> = {};
  const chunks: Uint16Array[] = [];
  let at = 0;
  for (const t of tensors) {
    const d = t.data as Float32Array;
    const bits = Uint16Array.from(d, (x) =>
      dtype === 'BF16' ? new Uint32Array(new Float32Array([x]).buffer)[0]! >>> 16 : toHalfBits(x),
    );
    header[t.name] = { dtype, shape: t.shape, data_offsets: [at, at + bits.byteLength] };
    at += bits.byteLength;
    chunks.push(bits);
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let o = 8 + json.length;
  for (const c of chunks) {
    out.set(new Uint8Array(c.buffer), o);
    o += c.byteLength;
  }
  writeFileSync(file, out);
  return { dir, original: new Map(tensors.map((t) => [t.name, t.data as Float32Array])) };
}

for (const dtype of ['F16', 'BF16'] as const) {
  test(`${dtype} adapters import: values as the halves hold them, logits near PEFT's`, async () => {
    for (const c of peftCases().filter((x) => x.name !== 'd-prompt-tuning-bin')) {
      const { dir, original } = halfCopy(c.dir, dtype);
      const mdl = await model(c.model, c.json.base_model);
      const a = importPeftAdapter(dir, mdl);
      const got = a.method.kind === 'prompt' ? a.method.params.promptEmbeddings : a.method.params.embedding;
      const want = original.get('prompt_embeddings')!;
      const x = got.dataSync();
      for (let i = 0; i < want.length; i++) {
        const w = want[i]!;
        // BF16 keeps the top 16 bits of the float (truncated here); F16 rounds to 11 significant bits.
        const expect =
          dtype === 'BF16'
            ? new Float32Array(
                new Uint32Array([new Uint32Array(new Float32Array([w]).buffer)[0]! & 0xffff0000]).buffer,
              )[0]!
            : w;
        const tol = dtype === 'BF16' ? 0 : Math.abs(w) * 2 ** -11 + 2 ** -24;
        if (!(Math.abs(x[i]! - expect) <= tol))
          assert.unreachable(`${c.model}/${c.name} prompt[${i}]: ${x[i]} vs ${w}`);
      }
      const logits = adapterLogits(mdl, a, caseBatch(bk, c.json));
      expectWithin(`${c.model}/${c.name} logits`, logits.dataSync(), c.json.logits.flat(), 0.05, 0);
    }
  });
}

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
