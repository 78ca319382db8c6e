/**
 * Every user error exits 2 with one line naming the file or option (no stack); a bug prints its stack
 * and says it is a bug. Sizes the model or machine cannot hold are refused before any folder exists;
 * `predict --output` cannot overwrite its input; file-system errors name the path and what to do.
 */
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NonFiniteError } from '../training/nan-guard.ts';
import { mountTmpfs } from '../training/testing/tmpfs.ts';
import { UsageError } from '../training/usage-error.ts';
import { EXIT, reportError } from './main.ts';
import { isOneLineUsageError, runCli } from './testing/run-cli.ts';
import { writeFewglueSubset } from '../data/testing/fewglue-subset.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'pg-usage-'));
const DATA = join(tmp, 'data');

test.before(() => {
  writeFewglueSubset(DATA, 'RTE', { train: 16, dev32: 4, val: 4 });
});

const base = (out: string, ...more: string[]) => [
  'train',
  ...['--model', MODEL, '--task', 'RTE', '--data', DATA, '--steps', '2', '--batch-size', '4'],
  ...['--eval-every', '2', '--max-length', '32', '--prompt-length', '2', '--method', 'soft', '--out', out],
  ...more,
];

test('reportError: user errors and errno errors one line (exit 2), a bug with stack and where to report (70)', () => {
  const lines: string[] = [];
  const err = (s: string) => lines.push(s);
  assert.is(reportError(new UsageError('--steps: bad\nsecond line'), err), EXIT.usage);
  assert.is(lines.pop(), 'promptgrad: --steps: bad second line\n');
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), {
    code: 'ENOSPC',
    syscall: 'open',
    path: '/runs/x/config.json',
  });
  assert.is(reportError(enospc, err), EXIT.usage);
  assert.match(
    lines.pop()!,
    /^promptgrad: cannot open \/runs\/x\/config\.json: no space left .*ENOSPC.*free some space/,
  );
  assert.is(reportError(new NonFiniteError('soft', 3, 'loss', 'NaN'), err), EXIT.stopped);
  assert.is(reportError(new TypeError('x is undefined'), err), EXIT.bug);
  const bug = lines.pop()!;
  assert.match(bug, /TypeError: x is undefined\n\s+at /);
  assert.match(bug, /this is a bug in PromptGrad.*report it/);
});

test('verify-hf: a bad option and a folder without a reference are user errors too (exit 2, one line)', async () => {
  const dtype = await runCli('verify-hf', MODEL, '--dtype', 'f16');
  assert.ok(isOneLineUsageError(dtype), dtype.err);
  assert.match(dtype.err, /^promptgrad: --dtype f16: expected one of f64, f32 \(see promptgrad verify-hf --help\)$/m);
  const empty = join(tmp, 'no-reference');
  mkdirSync(empty);
  const ref = await runCli('verify-hf', empty);
  assert.ok(isOneLineUsageError(ref), ref.err);
  assert.match(ref.err, /no-reference\/reference\.json: no such file or folder \(ENOENT\)/);
});

test('train --out a model folder or a user folder: refused, naming what is there; nothing in it changes', async () => {
  const model = join(tmp, 'model-copy');
  cpSync(MODEL, model, { recursive: true });
  const before = readdirSync(model).map((f) => [f, readFileSync(join(model, f))] as const);
  const r = await runCli(...base(model));
  assert.ok(isOneLineUsageError(r), r.err);
  assert.match(r.err, /is not empty and is not a PromptGrad run folder \(it holds config\.json, model\.safetensors/);
  assert.equal(readdirSync(model).sort(), before.map(([f]) => f).sort());
  for (const [f, bytes] of before) assert.ok(readFileSync(join(model, f)).equals(bytes), f);
  const mine = join(tmp, 'mine');
  mkdirSync(mine);
  writeFileSync(join(mine, 'metrics.jsonl'), 'my own notes\n');
  const m = await runCli(...base(mine));
  assert.ok(isOneLineUsageError(m), m.err);
  assert.is(readFileSync(join(mine, 'metrics.jsonl'), 'utf8'), 'my own notes\n');
  assert.equal(readdirSync(mine), ['metrics.jsonl']);
  // --overwrite replaces only a run folder: the model copy and the user's folder are refused and kept.
  for (const folder of [model, mine]) {
    const o = await runCli(...base(folder, '--overwrite'));
    assert.ok(isOneLineUsageError(o), o.err);
    assert.match(o.err, /is not a PromptGrad run folder .*; it is left as it is/);
  }
  assert.equal(readdirSync(model).sort(), before.map(([f]) => f).sort());
  assert.equal(readdirSync(mine), ['metrics.jsonl']);
});

test('train --overwrite replaces a run PromptGrad wrote, and only after the new run has loaded', async () => {
  const run = join(tmp, 'overwritten');
  const first = await runCli(...base(run, '--seed', '1'));
  assert.is(first.code, 0, first.err);
  const badModel = await runCli(...base(run, '--overwrite', '--model', join(tmp, 'no-such-model')));
  assert.ok(isOneLineUsageError(badModel), badModel.err);
  assert.ok(existsSync(join(run, 'results.json')), 'a refused --overwrite kept the old run');
  const both = await runCli(...base(run, '--overwrite', '--resume'));
  assert.ok(isOneLineUsageError(both), both.err);
  assert.match(both.err, /--overwrite .* cannot go with --resume/);
  const second = await runCli(...base(run, '--overwrite', '--seed', '2'));
  assert.is(second.code, 0, second.err);
  const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { seed: number };
  assert.is(config.seed, 2);
});

test('sizes the model or machine cannot hold: refused in one line, before any folder is created', async () => {
  const cases: [string[], RegExp][] = [
    [['--threads', '100000'], /--threads 100000: this machine has \d+ cores?/],
    [['--prompt-length', '61'], /--prompt-length 61: the model has 64 positions/],
    [['--method', 'prefix', '--prefix-projection', '1000000000'], /--prefix-projection 1000000000/],
    [['--method', 'dynamic', '--pool-size', '100000000'], /--pool-size 100000000/],
    [['--method', 'infoprompt', '--generator-hidden', '100000000'], /--generator-hidden 100000000/],
    [['--batch-size', '100000000'], /--batch-size 100000000: the run would need about/],
  ];
  for (const [i, [flags, want]] of cases.entries()) {
    const out = join(tmp, `bounds-${i}`);
    const t0 = performance.now();
    const r = await runCli(...base(out, ...flags));
    assert.ok(isOneLineUsageError(r), `${flags.join(' ')}: ${r.err}`);
    assert.match(r.err, want);
    assert.not.ok(existsSync(out), `${flags.join(' ')} created ${out}`);
    assert.ok(performance.now() - t0 < 5000, `${flags.join(' ')} took ${performance.now() - t0} ms`);
  }
});

test('an empty train split and a foreign --resume: exit 2, one line', async () => {
  const empty = join(tmp, 'empty-data');
  mkdirSync(join(empty, 'RTE'), { recursive: true });
  writeFileSync(join(empty, 'RTE', 'train.jsonl'), '');
  for (const f of ['dev32', 'val']) cpSync(join(DATA, 'RTE', `${f}.jsonl`), join(empty, 'RTE', `${f}.jsonl`));
  const r = await runCli(...base(join(tmp, 'r-empty'), '--data', empty));
  assert.ok(isOneLineUsageError(r), r.err);
  assert.match(r.err, /train/);
  const res = await runCli('train', '--out', MODEL, '--resume');
  assert.ok(isOneLineUsageError(res), res.err);
  assert.match(res.err, /cannot resume: --out .* is not a PromptGrad run folder/);
});

test('predict --output equal to --input is refused and the input kept; a finished run predicts', async () => {
  const run = join(tmp, 'run');
  const t = await runCli(...base(run));
  assert.is(t.code, 0, t.err);
  const input = join(tmp, 'in.jsonl');
  const text = '{"idx": 0, "premise": "A cat sat.", "hypothesis": "An animal sat."}\n';
  writeFileSync(input, text);
  const same = await runCli('predict', '--run', run, '--input', input, '--output', join(tmp, '.', 'in.jsonl'));
  assert.ok(isOneLineUsageError(same), same.err);
  assert.match(same.err, /--output .* is the --input file/);
  assert.is(readFileSync(input, 'utf8'), text);
  const latin1 = join(tmp, 'latin1.jsonl');
  writeFileSync(
    latin1,
    Buffer.concat([Buffer.from(text), Buffer.from('{"premise": "caf'), Buffer.from([0xe9, 0x22, 0x7d])]),
  );
  const bad = await runCli('predict', '--run', run, '--input', latin1, '--output', join(tmp, 'p.jsonl'));
  assert.ok(isOneLineUsageError(bad), bad.err);
  assert.match(bad.err, /latin1\.jsonl:2: not valid UTF-8/);
  assert.not.ok(existsSync(join(tmp, 'p.jsonl')));
  // New examples need no idx, and without --output the predictions are the only standard output.
  const noIdx = join(tmp, 'no-idx.jsonl');
  writeFileSync(
    noIdx,
    '{"premise": "A cat sat.", "hypothesis": "An animal sat."}\n{"premise": "It rained.", "hypothesis": "The ground is dry."}\n',
  );
  const piped = await runCli('predict', '--run', run, '--input', noIdx);
  assert.is(piped.code, 0, piped.err);
  const preds = piped.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { index: number; label: string });
  assert.equal(
    preds.map((p) => p.index),
    [0, 1],
  );
  for (const p of preds) assert.ok(['entailment', 'not_entailment'].includes(p.label), p.label);
  const again = await runCli(...base(run));
  assert.ok(isOneLineUsageError(again), again.err);
  assert.match(again.err, /already holds a run \(checkpoint\); pass --resume/);
  const checkpoint = readdirSync(run).sort().join(',');
  const resumed = await runCli('train', '--out', run, '--resume', '--threads', '100000');
  assert.ok(isOneLineUsageError(resumed), resumed.err);
  assert.match(resumed.err, /--threads 100000: this machine has \d+ cores?/);
  assert.is(readdirSync(run).sort().join(','), checkpoint, 'the refused resume left the run folder as it was');
});

test('file-system errors name the path and what to do: read-only --out (EROFS), full disk on export (no debris)', async () => {
  const ro = mountTmpfs(64, true);
  if (!ro) console.log('SKIP: cannot mount a tmpfs here (the injected-failure tests in training/ still run)');
  else {
    try {
      const r = await runCli(...base(join(ro.dir, 'runs', 'a')));
      assert.ok(isOneLineUsageError(r), r.err);
      assert.match(r.err, /EROFS/);
      assert.match(r.err, /writable file system/);
    } finally {
      ro.unmount();
    }
  }
  const full = mountTmpfs(64);
  if (!full) return;
  try {
    const adapter = join(full.dir, 'adapter');
    const first = await runCli('export-peft', '--run', join(tmp, 'run'), '--out', adapter);
    assert.is(first.code, 0, first.err);
    const before = readdirSync(adapter).map((f) => [f, readFileSync(join(adapter, f))] as const);
    fillDisk(join(full.dir, 'filler'));
    const r = await runCli('export-peft', '--run', join(tmp, 'run'), '--out', adapter);
    assert.ok(isOneLineUsageError(r), r.err);
    assert.match(r.err, new RegExp(`cannot write ${adapter}/adapter_model\\.safetensors: no space left.*ENOSPC`));
    assert.equal(readdirSync(adapter).sort(), before.map(([f]) => f).sort(), 'debris left in the adapter folder');
    for (const [f, bytes] of before) assert.ok(readFileSync(join(adapter, f)).equals(bytes), f);
  } finally {
    full.unmount();
  }
});

/** Writes `file` until the file system is full. */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const block = new Uint8Array(4096).fill(1);
  try {
    for (;;) writeSync(fd, block);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
