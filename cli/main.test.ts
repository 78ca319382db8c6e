/** CLI: train → eval → predict → export-peft on bert-tiny/RTE, and clear exit-2 errors for bad input. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from './main.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const FEWGLUE = new URL('../datasets/fewglue/RTE/', import.meta.url).pathname;
const have = existsSync(MODEL) && existsSync(FEWGLUE);
const tmp = mkdtempSync(join(tmpdir(), 'pg-cli-'));
const DATA = join(tmp, 'data');

async function run(...argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const log = console.log;
  console.log = () => {};
  try {
    return {
      code: await main(argv, (s) => {
        err += s;
      }),
      err,
    };
  } finally {
    console.log = log;
  }
}

test.before(() => {
  if (!have) return;
  mkdirSync(join(DATA, 'RTE'), { recursive: true });
  for (const [f, n] of [
    ['train', 32],
    ['dev32', 6],
    ['val', 6],
  ] as const) {
    writeFileSync(
      join(DATA, 'RTE', `${f}.jsonl`),
      readFileSync(join(FEWGLUE, `${f}.jsonl`), 'utf8')
        .split('\n')
        .slice(0, n)
        .join('\n'),
    );
  }
});

const base = () => [
  '--model',
  MODEL,
  '--task',
  'RTE',
  '--data',
  DATA,
  '--steps',
  '2',
  '--batch-size',
  '4',
  '--eval-every',
  '2',
  '--max-length',
  '32',
  '--prompt-length',
  '2',
];

test('train (soft), eval, predict and export-peft', async () => {
  if (!have) return;
  const out = join(tmp, 'run');
  const t = await run('train', ...base(), '--method', 'soft', '--out', out);
  assert.is(t.code, 0, t.err);
  for (const f of ['metrics.jsonl', 'curve.svg', 'config.json', 'results.json', 'checkpoint/state.safetensors'])
    assert.ok(existsSync(join(out, f)), f);
  assert.is((await run('eval', '--run', out, '--split', 'dev32')).code, 0);
  const input = join(tmp, 'in.jsonl'),
    output = join(tmp, 'out.jsonl');
  writeFileSync(input, '{"idx": 0, "premise": "A cat sat.", "hypothesis": "An animal sat."}\n');
  const p = await run('predict', '--run', out, '--input', input, '--output', output);
  assert.is(p.code, 0, p.err);
  assert.ok(
    ['entailment', 'not_entailment'].includes((JSON.parse(readFileSync(output, 'utf8')) as { label: string }).label),
  );
  const adapter = join(tmp, 'adapter');
  const x = await run('export-peft', '--run', out, '--out', adapter);
  assert.is(x.code, 0, x.err);
  assert.ok(existsSync(join(adapter, 'adapter_config.json')) && existsSync(join(adapter, 'adapter_model.safetensors')));
});

test('errors: exit 2 with the file, line, field or option named', async () => {
  if (!have) return;
  const miss = await run(
    'train',
    ...base(),
    '--method',
    'soft',
    '--model',
    join(tmp, 'nope'),
    '--out',
    join(tmp, 'r1'),
  );
  assert.is(miss.code, 2);
  assert.match(miss.err, /no such folder/);
  const task = await run('train', ...base(), '--task', 'XYZ', '--out', join(tmp, 'r2'));
  assert.is(task.code, 2);
  assert.match(task.err, /unknown task "XYZ"/);
  const opt = await run('train', ...base(), '--lr', 'fast', '--out', join(tmp, 'r3'));
  assert.is(opt.code, 2);
  assert.match(opt.err, /--lr/);
  const meth = await run('train', ...base(), '--method', 'lora', '--out', join(tmp, 'r4'));
  assert.is(meth.code, 2);
  assert.match(meth.err, /--method.*soft, prefix/);
  const bad = join(tmp, 'bad');
  mkdirSync(join(bad, 'RTE'), { recursive: true });
  writeFileSync(
    join(bad, 'RTE', 'train.jsonl'),
    '{"idx": 0, "premise": "p", "hypothesis": "h", "label": "entailment"}\n{"idx": 1, "premise": 5, "hypothesis": "h", "label": "entailment"}\n',
  );
  const jl = await run('train', ...base(), '--data', bad, '--out', join(tmp, 'r5'));
  assert.is(jl.code, 2);
  assert.match(jl.err, /train\.jsonl:2: field "premise"/);
  const cfgFile = join(tmp, 'c.json');
  writeFileSync(cfgFile, '{"stepz": 3}');
  const cf = await run('train', ...base(), '--config', cfgFile, '--out', join(tmp, 'r6'));
  assert.is(cf.code, 2);
  assert.match(cf.err, /c\.json: field "stepz": unknown option/);
  assert.is((await run('eval', '--run', join(tmp, 'nothing'))).code, 2);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
