/**
 * The CLI path for adapters made elsewhere: `eval` / `predict --model <base> --adapter <PEFT folder>` on
 * every adapter PEFT itself wrote gives PEFT's outputs (predict's probabilities are the softmax of PEFT's
 * float64 logits within 1e-9 in f64, 1e-5 in f32), and bad combinations exit 2 with the reason.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expectWithin } from '../models/bert/testing/within.ts';
import { PEFT_FIXTURES, peftCases, type CaseJson } from '../prompting/testing/peft-fixtures.ts';
import { runCli as cli } from './testing/run-cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pg-peft-cli-'));
const LABELS = ['a', 'b', 'c'];

const softmax = (r: readonly number[]) => {
  const mx = Math.max(...r),
    e = r.map((x) => Math.exp(x - mx)),
    z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
};
const argmax = (r: readonly number[]) => r.indexOf(Math.max(...r));

/** A custom task with labels a, b, c whose dev32 holds the case's single-text example, labelled as PEFT predicts it. */
function caseData(c: CaseJson, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const lines = (rows: { text: string; label: string }[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  writeFileSync(join(dir, 'train.jsonl'), lines(LABELS.map((label) => ({ text: `example ${label}`, label }))));
  const single = c.inputs.examples.findIndex((e) => e.text_pair === undefined);
  writeFileSync(
    join(dir, 'dev32.jsonl'),
    lines([{ text: c.inputs.examples[single]!.text, label: LABELS[argmax(c.logits[single]!)]! }]),
  );
  writeFileSync(join(dir, 'val.jsonl'), lines([{ text: 'held out', label: 'a' }]));
  writeFileSync(join(dir, 'input.jsonl'), c.inputs.examples.map((e) => `${JSON.stringify(e)}\n`).join(''));
  return dir;
}

const TOL = { f64: 1e-9, f32: 1e-5 } as const;

for (const c of peftCases()) {
  test(`${c.model}/${c.name}: predict and eval --model --adapter give PEFT's outputs (f64, f32)`, async () => {
    const data = caseData(c.json, join(tmp, c.model, c.name));
    for (const dtype of ['f64', 'f32'] as const) {
      const output = join(data, `preds-${dtype}.jsonl`);
      const common = ['--model', c.baseDir, '--adapter', c.dir, '--task', 'custom', '--data', data, '--dtype', dtype];
      const p = await cli('predict', ...common, '--input', join(data, 'input.jsonl'), '--output', output);
      assert.is(p.code, 0, p.err);
      const rows = readFileSync(output, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { label: string; probs: Record<string, number> });
      assert.is(rows.length, c.json.logits.length);
      rows.forEach((r, i) => {
        const want = softmax(c.json.logits[i]!);
        expectWithin(
          `${dtype} probs ${i}`,
          LABELS.map((l) => r.probs[l]!),
          want,
          TOL[dtype],
          0,
        );
        assert.is(r.label, LABELS[argmax(want)], `label ${i}`);
      });
      // The same examples given on the command line (--text, --text-pair), predictions to standard output.
      for (const pairs of [false, true]) {
        const which = c.json.inputs.examples
          .map((e, i) => ({ e, i }))
          .filter(({ e }) => (e.text_pair !== undefined) === pairs);
        if (which.length === 0) continue;
        const flags = which.flatMap(({ e }) => [
          '--text',
          e.text,
          ...(e.text_pair !== undefined ? ['--text-pair', e.text_pair] : []),
        ]);
        const t = await cli('predict', ...common, ...flags);
        assert.is(t.code, 0, t.err);
        const got = t.out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { probs: Record<string, number> });
        assert.is(got.length, which.length);
        which.forEach(({ i }, k) =>
          expectWithin(
            `${dtype} --text probs ${i}`,
            LABELS.map((l) => got[k]!.probs[l]!),
            softmax(c.json.logits[i]!),
            TOL[dtype],
            0,
          ),
        );
      }
      const e = await cli('eval', ...common, '--split', 'dev32', '--json');
      assert.is(e.code, 0, e.err);
      assert.is((JSON.parse(e.out.trim()) as { accuracy: number }).accuracy, 1, "PEFT's prediction on dev32");
    }
  });
}

const bertA = join(PEFT_FIXTURES, 'bert-tiny', 'a-prompt-tuning');
const bertBase = join(PEFT_FIXTURES, 'bert-tiny', 'base');
const robertaBase = join(PEFT_FIXTURES, 'roberta-tiny', 'base');

test('adapter path errors: exit 2 with the reason', async () => {
  const c = peftCases().find((x) => x.model === 'bert-tiny' && x.name === 'a-prompt-tuning')!;
  const data = caseData(c.json, join(tmp, 'errors'));
  const expect2 = async (re: RegExp, ...argv: string[]) => {
    const r = await cli(...argv);
    assert.is(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.is(r.err.trim().split('\n').length, 1, 'one line');
  };
  await expect2(/give --run <folder>, or --model and --adapter/, 'eval');
  await expect2(/the adapter path also needs --model/, 'eval', '--adapter', bertA, '--task', 'custom');
  await expect2(/not both/, 'eval', '--run', tmp, '--adapter', bertA);
  await expect2(
    /holds a BertForSequenceClassification: bert\.pooler\.dense \+ classifier head \(base_model\.classifier\.weight\), but the model is roberta/,
    'eval',
    '--model',
    robertaBase,
    '--adapter',
    bertA,
    '--task',
    'custom',
    '--data',
    data,
  );
  const twoLabels = join(tmp, 'two-labels');
  mkdirSync(twoLabels);
  for (const f of ['train', 'dev32', 'val'])
    writeFileSync(join(twoLabels, `${f}.jsonl`), '{"text": "x", "label": "a"}\n{"text": "y", "label": "b"}\n');
  await expect2(
    /the classifier has 3 labels, task custom has 2/,
    'eval',
    '--model',
    bertBase,
    '--adapter',
    bertA,
    '--task',
    'custom',
    '--data',
    twoLabels,
  );
  const fe = join(tmp, 'feature-extraction');
  cpSync(bertA, fe, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(fe, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(fe, 'adapter_config.json'), JSON.stringify({ ...cfg, task_type: 'FEATURE_EXTRACTION' }));
  await expect2(
    /FEATURE_EXTRACTION but the adapter holds a classifier/,
    'eval',
    '--model',
    bertBase,
    '--adapter',
    fe,
    '--task',
    'custom',
    '--data',
    data,
  );
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
