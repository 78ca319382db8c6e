/**
 * A PromptGrad run exported with `export-peft` is the adapter PEFT itself writes for the same case
 * (fixtures/hf-reference/peft-adapters/): adapter_config.json byte for byte, the same tensor names,
 * shapes and dtypes (the RoBERTa head as classifier.dense + out_proj, the pooler of a pooler-less BERT in
 * modules_to_save), PEFT's model-card front matter; and it re-imports bit-identically, so running it
 * through `--adapter` gives exactly the run's own predictions.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Tensor } from '../core/index.ts';
import { readSafetensorsHeader } from '../models/bert/io/safetensors.ts';
import { importPeftAdapter } from '../prompting/peft-import.ts';
import { peftCases } from '../prompting/testing/peft-fixtures.ts';
import { loadBestParams, readRunConfig } from '../training/run-load.ts';
import { setupRun } from '../training/run-setup.ts';
import { main } from './main.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pg-peft-export-'));
const DATA = join(tmp, 'data');

async function cli(...argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const log = console.log;
  console.log = () => {};
  try {
    return { code: await main(argv, (s) => void (err += s)), err };
  } finally {
    console.log = log;
  }
}

test.before(() => {
  mkdirSync(DATA, { recursive: true });
  const texts = ['The sky is blue.', 'Is it raining?', 'A cat sat on the mat.', 'Hello there, world!'];
  const rows = (n: number) =>
    Array.from({ length: n }, (_, i) => `${JSON.stringify({ text: texts[i % 4], label: 'abc'[i % 3] })}\n`).join('');
  writeFileSync(join(DATA, 'train.jsonl'), rows(6));
  writeFileSync(join(DATA, 'dev32.jsonl'), rows(3));
  writeFileSync(join(DATA, 'val.jsonl'), rows(3));
  writeFileSync(
    join(DATA, 'input.jsonl'),
    '{"text": "Is the sky blue?", "text_pair": "The sky is blue on a clear day."}\n{"text": "Return a new list."}\n',
  );
});

const frontMatter = (card: string) => card.split('---\n')[1];

const sameBits = (label: string, a: Tensor, b: Tensor) => {
  assert.equal([...a.shape], [...b.shape], `${label}: shape`);
  const x = a.dataSync(),
    y = b.dataSync();
  for (let i = 0; i < x.length; i++)
    if (!Object.is(x[i], y[i])) assert.unreachable(`${label}[${i}]: ${x[i]} vs ${y[i]}`);
};

const RUNS = [
  { model: 'bert-tiny', method: 'soft', peftCase: 'a-prompt-tuning' },
  { model: 'bert-tiny', method: 'prefix', peftCase: 'b-prefix-tuning' },
  { model: 'bert-tiny', method: 'soft', peftCase: 'c-prompt-tuning-pooler-in-adapter' },
  { model: 'roberta-tiny', method: 'soft', peftCase: 'a-prompt-tuning' },
  { model: 'roberta-tiny', method: 'prefix', peftCase: 'b-prefix-tuning' },
] as const;

for (const r of RUNS) {
  const c = peftCases().find((x) => x.model === r.model && x.name === r.peftCase)!;
  test(`${r.model}: a ${r.method} run on ${c.json.base_model}/ exports what PEFT wrote for ${r.peftCase}`, async () => {
    const run = join(tmp, `${r.model}-${r.peftCase}`),
      adapter = `${run}-adapter`;
    const t = await cli(
      'train',
      '--model',
      c.baseDir,
      '--task',
      'custom',
      '--data',
      DATA,
      '--method',
      r.method,
      '--prompt-length',
      '4',
      '--init',
      'random',
      '--steps',
      '2',
      '--eval-every',
      '2',
      '--batch-size',
      '3',
      '--max-length',
      '24',
      '--out',
      run,
    );
    assert.is(t.code, 0, t.err);
    const x = await cli('export-peft', '--run', run, '--out', adapter, '--base-model', c.json.base_model);
    assert.is(x.code, 0, x.err);
    assert.is(
      readFileSync(join(adapter, 'adapter_config.json'), 'utf8'),
      readFileSync(join(c.dir, 'adapter_config.json'), 'utf8'),
      'adapter_config.json byte for byte',
    );
    const header = readSafetensorsHeader(
      new Uint8Array(readFileSync(join(adapter, 'adapter_model.safetensors'))),
      adapter,
    );
    if (E.isLeft(header)) throw new Error(header.left.message);
    const keys = Object.fromEntries(
      header.right.entries.map((e) => [
        e.name,
        { shape: [...e.shape], dtype: e.dtype === 'F32' ? 'float32' : e.dtype },
      ]),
    );
    assert.equal(keys, c.json.adapter_keys, 'tensor names, shapes and dtypes');
    const card = readFileSync(join(adapter, 'README.md'), 'utf8'),
      peftCard = readFileSync(join(c.dir, 'README.md'), 'utf8');
    assert.is(frontMatter(card), frontMatter(peftCard), "PEFT's model-card front matter");
    assert.ok(
      card.endsWith('### Framework versions\n\n- PEFT 0.21.0') &&
        peftCard.endsWith('### Framework versions\n\n- PEFT 0.21.0'),
    );

    // Re-import: the run's best tensors bit for bit, the pooler the head was trained through included.
    const { tm, task } = await setupRun(readRunConfig(run));
    const { best } = await loadBestParams(tm, run, task.metrics.main);
    const back = importPeftAdapter(adapter, tm.model);
    const prompt = best['prompt'] as unknown as { promptEmbeddings?: Tensor; embedding?: Tensor };
    if (back.method.kind === 'prompt')
      sameBits('prompt', back.method.params.promptEmbeddings, prompt.promptEmbeddings!);
    else sameBits('prefix', back.method.params.embedding, prompt.embedding!);
    const head = best['head'] as unknown as { weight: Tensor; bias: Tensor };
    sameBits('classifier.weight', back.classifier!.weight, head.weight);
    sameBits('classifier.bias', back.classifier!.bias, head.bias);
    sameBits('pooler.weight', back.pooler!.weight as Tensor, tm.pooler!.weight as Tensor);
    sameBits('pooler.bias', back.pooler!.bias, tm.pooler!.bias);

    // The adapter path runs the same model: identical predictions.
    const viaRun = join(run, 'preds-run.jsonl'),
      viaAdapter = join(run, 'preds-adapter.jsonl');
    const input = join(DATA, 'input.jsonl');
    assert.is((await cli('predict', '--run', run, '--input', input, '--output', viaRun)).code, 0);
    const p = await cli(
      'predict',
      '--model',
      c.baseDir,
      '--adapter',
      adapter,
      '--task',
      'custom',
      '--data',
      DATA,
      '--max-length',
      '24',
      '--input',
      input,
      '--output',
      viaAdapter,
    );
    assert.is(p.code, 0, p.err);
    assert.is(readFileSync(viaAdapter, 'utf8'), readFileSync(viaRun, 'utf8'), 'same predictions, bit for bit');
  });
}

test('export-peft refuses what PEFT cannot express: a verbalizer head, BERT with --segment-ids single', async () => {
  const base = join(peftCases()[0]!.baseDir);
  const common = ['--model', base, '--task', 'custom', '--data', DATA, '--method', 'soft', '--steps', '1'];
  for (const [extra, why] of [
    [['--head', 'verbalizer'], /a verbalizer head \(MLM label-word scores at the mask\) has no PEFT form/],
    [['--segment-ids', 'single'], /--segment-ids single.*PEFT's SEQ_CLS wrapper passes the tokenizer's token type ids/],
  ] as const) {
    const run = join(tmp, `refused-${extra[1]}`);
    const t = await cli('train', ...common, ...extra, '--eval-every', '1', '--out', run);
    assert.is(t.code, 0, t.err);
    const x = await cli('export-peft', '--run', run, '--out', `${run}-adapter`);
    assert.is(x.code, 2, x.err);
    assert.match(x.err, why);
    assert.not.ok(existsSync(`${run}-adapter`), 'nothing written');
  }
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
