/**
 * `promptgrad verify-hf <folder>`: loads a checkpoint + tokenizer from a folder written by the
 * fixtures' gen.py, runs every case its reference.json / reference.safetensors describe, prints one
 * line per key (max |Δ|, max relative Δ) and a verdict; exits 1 on any mismatch or unchecked key.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import * as E from 'fp-ts/lib/Either.js';
import { type Backend, type FloatDType } from '../core/index.ts';
import { selectBackend } from '../core/backend/select.ts';
import { loadCheckpoint } from '../models/bert/io/checkpoint.ts';
import { BertModel } from '../models/bert/model.ts';
import type { RawTensor } from '../models/bert/io/raw-tensor.ts';
import { parseSafetensors } from '../models/bert/io/safetensors.ts';
import { loadTokenizer, type PgTokenizer } from '../models/bert/tokenizer/tokenizer.ts';
import { forwardCase, peftCase, vjpCase, type KeyResult } from './verify-hf-cases.ts';
import { UsageError } from '../training/usage-error.ts';

interface TokenizationCase {
  readonly text: string;
  readonly text_pair?: string;
  readonly truncation?: boolean;
  readonly max_length?: number;
  readonly input_ids: readonly number[];
  readonly attention_mask?: readonly number[];
  readonly token_type_ids?: readonly number[];
  readonly tokens?: readonly string[];
}

const sameList = (a: readonly unknown[], b: readonly unknown[] | undefined) =>
  b === undefined || (a.length === b.length && a.every((v, i) => v === b[i]));

function tokenizationResults(tok: PgTokenizer, cases: readonly TokenizationCase[]): KeyResult[] {
  return cases.map((c, i) => {
    const enc = tok.encode(
      c.text,
      c.text_pair,
      c.max_length !== undefined ? { maxLength: c.max_length, truncation: c.truncation ?? true } : {},
    );
    const fields: [string, readonly unknown[], readonly unknown[] | undefined][] = [
      ['input_ids', enc.inputIds, c.input_ids],
      ['attention_mask', enc.attentionMask, c.attention_mask],
      ['token_type_ids', enc.tokenTypeIds, c.token_type_ids],
      ['tokens', enc.tokens, c.tokens],
    ];
    const bad = fields.filter(([, got, want]) => !sameList(got, want)).map(([n]) => n);
    const label =
      JSON.stringify(c.text.length > 32 ? `${c.text.slice(0, 29)}...` : c.text) +
      (c.text_pair !== undefined ? ' + pair' : '');
    return {
      key: `tokenization[${i}] ${label}`,
      ok: bad.length === 0,
      maxAbs: bad.length,
      maxRel: 0,
      tol: { atol: 0, rtol: 0 },
      ...(bad.length ? { detail: `differs in ${bad.join(', ')}` } : {}),
    };
  });
}

export interface VerifyOptions {
  readonly backend: Backend;
  readonly dtype: FloatDType;
}

/** All results for a folder; throws with the file named when something cannot even be loaded. */
export async function verifyHfFolder(
  folder: string,
  opts: VerifyOptions,
): Promise<{ results: KeyResult[]; unchecked: string[] }> {
  const meta = JSON.parse(await readFile(join(folder, 'reference.json'), 'utf8')) as Record<string, unknown>;
  const refFile = join(folder, 'reference.safetensors');
  const parsed = parseSafetensors(new Uint8Array(await readFile(refFile)), refFile, { floatDtype: 'f64' });
  if (E.isLeft(parsed)) throw new UsageError(parsed.left.message);
  const ref = new Map<string, RawTensor>(parsed.right.tensors.map((t) => [t.name, t]));

  const ckpt = await loadCheckpoint(folder, opts.dtype)();
  if (E.isLeft(ckpt)) throw new UsageError(ckpt.left.message);
  const model = BertModel.load(ckpt.right.weights, ckpt.right.config, opts.backend, opts.dtype);
  const tok = await loadTokenizer(folder)();
  if (E.isLeft(tok)) throw new UsageError(tok.left.message);

  const results: KeyResult[] = tokenizationResults(tok.right, (meta['tokenization'] ?? []) as TokenizationCase[]);
  const used = new Set<string>();
  const peftConfigs = Object.fromEntries(
    Object.entries(meta)
      .filter(([k]) => k.startsWith('peft.'))
      .map(([k, v]) => [k.slice(5), (v as { config?: object }).config ?? {}]),
  );
  const ctx = { bk: opts.backend, model, dtype: opts.dtype, ref, peftConfigs, used };
  if (ref.has('forward.last_hidden_state')) results.push(...(await forwardCase(ctx)));
  if (ref.has('vjp.grad_inputs_embeds')) results.push(...(await vjpCase(ctx)));
  const methods = new Set(
    [...ref.keys()].map((k) => /^peft\.([^.]+)\.loss$/.exec(k)?.[1]).filter((m): m is string => m !== undefined),
  );
  for (const m of methods) results.push(...(await peftCase(ctx, m)));
  for (const r of results) used.add(r.key);
  // Parameters of the PEFT cases are the starting point we differentiate at: consumed, not compared.
  const unchecked = [...ref.keys()].filter((k) => !used.has(k)).sort();
  model.dispose();
  return { results, unchecked };
}

const fmtNum = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toExponential(2));

export function verifyHfCommand(program: Command): void {
  program
    .command('verify-hf')
    .description('check loader, tokenizer, encoder and prompt tuning against a Hugging Face reference folder')
    .argument('<folder>', 'folder with config.json, weights, tokenizer files, reference.json and reference.safetensors')
    .addOption(new Option('--backend <backend>', 'where it runs').choices(['cpu', 'webgpu', 'auto']).default('cpu'))
    .addOption(
      new Option('--dtype <dtype>', 'float type (webgpu runs f32 only)').choices(['f64', 'f32']).default('f64'),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  promptgrad verify-hf fixtures/hf-reference/bert-tiny\n  promptgrad verify-hf ./roberta-tiny --dtype f32 --backend webgpu',
    )
    .action(async (folder: string, o: { backend: 'cpu' | 'webgpu' | 'auto'; dtype: 'f64' | 'f32' }) => {
      const { backend, note } = await selectBackend(o.backend);
      if (backend.name !== 'cpu' && o.dtype === 'f64')
        throw new UsageError(`the ${backend.name} backend has no f64: use --dtype f32`);
      console.log(`verify-hf ${folder} (${note}, ${o.dtype})`);
      const { results, unchecked } = await verifyHfFolder(folder, { backend, dtype: o.dtype });
      for (const r of results) {
        const nums = r.key.startsWith('tokenization')
          ? ''
          : `  max|Δ| ${fmtNum(r.maxAbs)}  max rel ${fmtNum(r.maxRel)}  (atol ${r.tol.atol}, rtol ${r.tol.rtol})`;
        console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.key}${nums}${r.detail ? `  — ${r.detail}` : ''}`);
      }
      for (const k of unchecked) console.log(`FAIL ${k}  — present in the reference but not checked`);
      const failed = results.filter((r) => !r.ok).length + unchecked.length;
      console.log(
        failed === 0
          ? `verdict: PASS (${results.length} checks)`
          : `verdict: FAIL (${failed} of ${results.length + unchecked.length} checks)`,
      );
      if ('destroy' in backend && typeof backend.destroy === 'function') (backend.destroy as () => void).call(backend);
      process.exitCode = failed === 0 ? 0 : 1;
    });
}
