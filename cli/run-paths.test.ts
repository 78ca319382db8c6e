/**
 * A run folder holds no absolute local path: config.json stores --model and --data relative to the run
 * folder (the bundled FewGLUE copy as no data at all), and an exported adapter's base_model_name_or_path
 * is relative. The run still evaluates, predicts, exports and resumes from another working directory
 * after the whole project folder has moved; a run written with absolute paths (before) still loads.
 */
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from './testing/run-cli.ts';
import { writeFewglueSubset } from '../data/testing/fewglue-subset.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'pg-paths-'));
const cwd = process.cwd();

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const accuracy = (out: string) => (JSON.parse(out) as { accuracy: number }).accuracy;
const common = ['--steps', '2', '--batch-size', '4', '--eval-every', '1', '--max-length', '32', '--prompt-length', '2'];

test.before(() => {
  const proj = join(tmp, 'proj');
  cpSync(MODEL, join(proj, 'models', 'bert-tiny'), { recursive: true });
  writeFewglueSubset(join(proj, 'data'), 'RTE', { train: 16, dev32: 4, val: 4 });
});

test('paths relative to the run folder; the moved project loads from another folder; old absolute paths load', async () => {
  process.chdir(join(tmp, 'proj'));
  try {
    const t = await runCli(
      'train',
      '--model',
      'models/bert-tiny',
      '--task',
      'RTE',
      '--data',
      'data',
      ...common,
      '--out',
      'runs/a',
    );
    assert.is(t.code, 0, t.err);
    const bundled = await runCli(
      'train',
      '--model',
      './models/bert-tiny',
      '--task',
      'rte',
      ...common,
      '--out',
      'runs/b',
    );
    assert.is(bundled.code, 0, bundled.err);
    const before = await runCli('eval', '--run', 'runs/a', '--json');
    assert.is(before.code, 0, before.err);
    const a = readJson(join('runs', 'a', 'config.json'));
    assert.is(a['model'], '../../models/bert-tiny');
    assert.is(a['data'], '../../data');
    const b = readJson(join('runs', 'b', 'config.json'));
    assert.is(b['model'], '../../models/bert-tiny');
    assert.not.ok('data' in b, 'the bundled FewGLUE copy is stored as no data');
    for (const run of ['a', 'b']) {
      const files = ['config.json', 'checkpoint/state.json'].map((f) => readFileSync(join('runs', run, f), 'utf8'));
      for (const text of files) assert.not.ok(text.includes(tmp), `runs/${run} holds the absolute path ${tmp}`);
    }

    renameSync(join(tmp, 'proj'), join(tmp, 'moved'));
    process.chdir(tmp);
    const after = await runCli('eval', '--run', 'moved/runs/a', '--json');
    assert.is(after.code, 0, after.err);
    assert.is(accuracy(after.out), accuracy(before.out));
    const bEval = await runCli('eval', '--run', join(tmp, 'moved', 'runs', 'b'), '--split', 'dev32');
    assert.is(bEval.code, 0, bEval.err);
    const p = await runCli('predict', '--run', 'moved/runs/a', '--text', 'A cat sat.', '--text-pair', 'A cat.');
    assert.is(p.code, 0, p.err);
    const x = await runCli('export-peft', '--run', 'moved/runs/a', '--out', 'adapter');
    assert.is(x.code, 0, x.err);
    assert.is(readJson(join('adapter', 'adapter_config.json'))['base_model_name_or_path'], 'moved/models/bert-tiny');
    assert.not.ok(
      readFileSync(join('adapter', 'README.md'), 'utf8').includes(tmp),
      'the model card holds an absolute path',
    );
    const r = await runCli('train', '--out', 'moved/runs/a', '--resume', '--steps', '3');
    assert.is(r.code, 0, r.err);
    assert.is(readJson(join('moved', 'runs', 'a', 'config.json'))['model'], '../../models/bert-tiny');

    // A run written before: absolute paths in config.json load as they are.
    const old = join(tmp, 'moved', 'runs', 'b');
    const cfg = { ...readJson(join(old, 'config.json')), model: join(tmp, 'moved', 'models', 'bert-tiny') };
    writeFileSync(join(old, 'config.json'), JSON.stringify({ ...cfg, data: join(tmp, 'moved', 'data') }));
    const o = await runCli('eval', '--run', old, '--split', 'dev32', '--json');
    assert.is(o.code, 0, o.err);
    assert.is(
      (JSON.parse(o.out) as { examples: number }).examples,
      4,
      'the absolute --data of the old config was read',
    );
  } finally {
    process.chdir(cwd);
  }
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
