/**
 * CLI on a multitask run (bert-tiny, RTE + CB, small dev/val copies): train --task RTE,CB (and `tasks`
 * in --config), --resume, eval per task and on average, predict --task, export-peft per task named by
 * task, and the exit-2 errors (predict without --task, an unknown task, a dynamic prompt's export).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli as run } from './testing/run-cli.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const FEWGLUE = new URL('../datasets/fewglue/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'pg-cli-mt-'));
const DATA = join(tmp, 'data');

test.before(() => {
  for (const task of ['RTE', 'CB']) {
    mkdirSync(join(DATA, task), { recursive: true });
    for (const [f, n] of [
      ['train', 32],
      ['dev32', 6],
      ['val', 6],
    ] as const)
      writeFileSync(
        join(DATA, task, `${f}.jsonl`),
        readFileSync(join(FEWGLUE, task, `${f}.jsonl`), 'utf8')
          .split('\n')
          .slice(0, n)
          .join('\n'),
      );
  }
});

const common = ['--model', MODEL, '--data', DATA, '--steps', '4', '--batch-size', '4', '--eval-every', '2'];
const common2 = ['--max-length', '32', '--prompt-length', '3', '--checkpoint-every', '2'];

test('train --task RTE,CB, eval, predict --task, export-peft per task', async () => {
  const out = join(tmp, 'run');
  const r = await run('train', ...common, ...common2, '--task', 'RTE,CB', '--share', 'prompt', '--out', out);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /multitask soft prompt \(one prompt shared by every task\)/);
  const ev = await run('eval', '--run', out, '--split', 'dev32', '--json');
  assert.is(ev.code, 0, ev.err);
  const lines = ev.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(
    lines.map((l) => l['task']),
    ['RTE', 'CB', 'average'],
  );
  const table = await run('eval', '--run', out, '--split', 'dev32');
  assert.is(table.code, 0, table.err);
  const tl = table.out.trimEnd().split('\n');
  assert.equal(tl[1]!.split(/\s+/), ['task', 'split', 'examples', 'accuracy', 'macroF1']);
  assert.equal(
    tl.slice(2, 4).map((l) => l.split(/\s+/).slice(0, 3)),
    [
      ['RTE', 'dev32', String(lines[0]!['examples'])],
      ['CB', 'dev32', String(lines[1]!['examples'])],
    ],
  );
  assert.match(tl[3]!, new RegExp(`${(lines[1]!['macroF1'] as number).toFixed(4)}$`));
  assert.is(tl[4], `average of the tasks' main metrics: ${(lines[2]!['mainAverage'] as number).toFixed(4)}`);
  const one = await run('eval', '--run', out, '--task', 'CB', '--json');
  assert.is(one.code, 0, one.err);
  assert.ok(typeof (JSON.parse(one.out) as { macroF1?: number }).macroF1 === 'number');

  const input = join(tmp, 'cb.jsonl'),
    preds = join(tmp, 'cb-preds.jsonl');
  writeFileSync(input, readFileSync(join(DATA, 'CB', 'val.jsonl'), 'utf8'));
  const p = await run('predict', '--run', out, '--task', 'CB', '--input', input, '--output', preds);
  assert.is(p.code, 0, p.err);
  const first = JSON.parse(readFileSync(preds, 'utf8').split('\n')[0]!) as { probs: Record<string, number> };
  assert.equal(Object.keys(first.probs).sort(), ['contradiction', 'entailment', 'neutral'], "CB's own labels");

  const noTask = await run('predict', '--run', out, '--input', input, '--output', preds);
  assert.is(noTask.code, 2);
  assert.match(noTask.err, /multitask run \(RTE,CB\): name the task/);
  const bad = await run('eval', '--run', out, '--task', 'WiC');
  assert.is(bad.code, 2);
  assert.match(bad.err, /this run's tasks are RTE, CB/);

  const ad = join(tmp, 'adapters');
  const x = await run('export-peft', '--run', out, '--out', ad);
  assert.is(x.code, 0, x.err);
  for (const t of ['RTE', 'CB']) assert.ok(existsSync(join(ad, t, 'adapter_config.json')), `${t} adapter`);
});

test('multitask refuses f16/int8 frozen weights with one line instead of running f32 silently', async () => {
  const out = join(tmp, 'mt-int8');
  const r = await run('train', '--task', 'RTE,CB', ...common, ...common2, '--weights', 'int8', '--out', out);
  assert.is(r.code, 2);
  assert.match(r.err, /--weights int8: multitask runs take f32 frozen weights only/);
  assert.not.ok(existsSync(join(out, 'config.json')), 'nothing written');
});

test('tasks in --config, interrupted and resumed; a dynamic prompt has no PEFT adapter', async () => {
  const cfg = join(tmp, 'mt.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      tasks: ['RTE', 'CB'],
      method: 'dynamic',
      poolSize: 2,
      dynamicPosition: 'instance',
      share: 'pool',
    }),
  );
  const out = join(tmp, 'dyn');
  const r = await run('train', '--config', cfg, ...common, ...common2, '--out', out);
  assert.is(r.code, 0, r.err);
  assert.match(readFileSync(join(out, 'config.json'), 'utf8'), /"task": "RTE,CB"/);
  const again = await run('train', '--out', out, '--resume');
  assert.is(again.code, 0, again.err);
  const x = await run('export-peft', '--run', out, '--out', join(tmp, 'dyn-adapters'));
  assert.is(x.code, 2);
  assert.match(x.err, /dynamic prompt is not a PEFT/);
  const pool = await run('train', ...common, '--task', 'RTE,CB', '--share', 'pool', '--out', join(tmp, 'x'));
  assert.is(pool.code, 2);
  assert.match(pool.err, /^promptgrad: --share pool: .*--method dynamic/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
