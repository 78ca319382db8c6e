/**
 * `--task custom` with `text_pair`: a record that has one is a sentence pair in train, eval and predict,
 * encoded as Hugging Face's tokenizer encodes the pair (BERT: `[SEP]` between the texts and token type 1
 * on the second segment; RoBERTa: `</s></s>` between them). The expected ids are HF's own, from the
 * fixtures' reference.json; eval's examples give exactly predict's probabilities for the same records.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { logitsOf } from '../training/evaluate.ts';
import { loadRun } from '../training/run-api.ts';
import type { Example } from '../training/task-data.ts';
import { parsePredictInput } from './predict-input.ts';
import { isOneLineUsageError, runCli } from './testing/run-cli.ts';

interface TokenizationCase {
  readonly text: string;
  readonly text_pair?: string;
  readonly input_ids: readonly number[];
  readonly token_type_ids?: readonly number[];
  readonly truncation?: unknown;
}

const tmp = mkdtempSync(join(tmpdir(), 'pg-custom-pairs-'));
const fixture = (model: string) => new URL(`../fixtures/hf-reference/${model}`, import.meta.url).pathname;

/** HF's encodings of the fixture's text pairs (without truncation). */
function pairCases(model: string): readonly TokenizationCase[] {
  const ref = JSON.parse(readFileSync(join(fixture(model), 'reference.json'), 'utf8')) as {
    tokenization: TokenizationCase[];
  };
  const pairs = ref.tokenization.filter((c) => c.text_pair !== undefined && c.truncation === undefined);
  assert.ok(pairs.length >= 2, `${model}: reference.json has text-pair cases`);
  return pairs;
}

/** A custom task whose every split holds the reference pairs (labels a, b) and one single text (label a). */
function writeData(dir: string, pairs: readonly TokenizationCase[]): void {
  mkdirSync(dir, { recursive: true });
  const rows = [
    ...pairs.map((c, i) => ({ text: c.text, text_pair: c.text_pair, label: 'ab'[i % 2] })),
    { text: 'Hello there, world!', label: 'a' },
  ];
  const jsonl = rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  for (const split of ['train', 'dev32', 'val']) writeFileSync(join(dir, `${split}.jsonl`), jsonl);
}

for (const model of ['bert-tiny', 'roberta-tiny']) {
  test(`${model}: custom text_pair records are sentence pairs in train, eval and predict`, async () => {
    const pairs = pairCases(model);
    const data = join(tmp, `${model}-data`),
      run = join(tmp, `${model}-run`);
    writeData(data, pairs);
    const t = await runCli(
      'train',
      ...['--model', fixture(model), '--task', 'custom', '--data', data, '--out', run, '--backend', 'cpu'],
      ...['--steps', '2', '--batch-size', '2', '--eval-every', '1', '--max-length', '64', '--prompt-length', '2'],
    );
    assert.is(t.code, 0, t.err);

    const { tm, task, best } = await loadRun(run);
    /** One example alone in a batch (no padding): its ids as the model gets them. */
    const encoded = (e: Example) => tm.batch([e]).tokens.host;
    const expectPairs = (where: string, examples: readonly Example[]) => {
      assert.is(examples.length, pairs.length + 1, `${where}: examples`);
      for (const [i, c] of pairs.entries()) {
        const h = encoded(examples[i]!);
        assert.equal([...h.inputIds], [...c.input_ids], `${where} ${i}: input ids of "${c.text}" + "${c.text_pair}"`);
        if (c.token_type_ids !== undefined)
          assert.equal([...h.tokenTypeIds!], [...c.token_type_ids], `${where} ${i}: token type ids`);
      }
      const single = encoded(examples[pairs.length]!);
      if (single.tokenTypeIds !== undefined)
        assert.ok(
          single.tokenTypeIds.every((x) => x === 0),
          `${where}: single`,
        );
    };
    // train and eval read the run's data through the same loader; the dev split chose the best step
    expectPairs('train', task.train);
    expectPairs('dev32', task.dev);
    expectPairs('val', task.test);
    const input = join(tmp, `${model}-val.jsonl`);
    const predictInput = parsePredictInput(join(data, 'val.jsonl'), 'custom');
    expectPairs('predict --input', predictInput);

    // eval scores what predict labels: the same probabilities for the val records
    writeFileSync(input, readFileSync(join(data, 'val.jsonl')));
    const p = await runCli('predict', '--run', run, '--input', input);
    assert.is(p.code, 0, p.err);
    const predicted = p.out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { probs: Record<string, number> }).probs)
      .map((probs) => task.labels.map((label) => probs[label]!));
    const softmax = (r: readonly number[]) => {
      const mx = Math.max(...r),
        e = r.map((x) => Math.exp(x - mx)),
        z = e.reduce((a, b) => a + b, 0);
      return e.map((x) => x / z);
    };
    // a Windows copy (BOM, CRLF) without labels is the same input to predict; a broken line is one line of error
    const windows = join(tmp, `${model}-windows.jsonl`);
    const unlabelled = readFileSync(join(data, 'val.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.stringify({ ...(JSON.parse(l) as object), label: undefined }));
    writeFileSync(windows, `\uFEFF${unlabelled.join('\r\n')}\r\n`);
    const w = await runCli('predict', '--run', run, '--input', windows);
    assert.is(w.code, 0, w.err);
    assert.is(w.out, p.out, 'BOM + CRLF, no labels: the same predictions');
    writeFileSync(windows, `${unlabelled[0]}\n{"text": "cut off`);
    const bad = await runCli('predict', '--run', run, '--input', windows);
    assert.ok(isOneLineUsageError(bad), bad.err);
    assert.match(bad.err, `promptgrad: --input ${windows}:2: invalid JSON`);
    const evalProbs = (await logitsOf(tm, best, task.test)).map(softmax);
    assert.is(predicted.length, evalProbs.length);
    for (const [i, row] of evalProbs.entries())
      for (const [k, q] of row.entries())
        assert.ok(
          Math.abs(q - predicted[i]![k]!) < 1e-9,
          `val ${i} class ${k}: eval ${q} vs predict ${predicted[i]![k]}`,
        );
  });
}

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
