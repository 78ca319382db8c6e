/**
 * eval and predict as a user meets them: eval's table (and --json) names the step whose parameters it
 * scored, which is the best dev step and scores exactly what training logged for it there; --split
 * accepts what its help lists; --backend / --threads / --batch-size are train's options with train's
 * checks; predict labels --text / --text-pair as it labels the same record from --input; every bad value
 * is one line in one format (`promptgrad: --flag value: why`, exit 2).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../training/usage-error.ts';
import { buildProgram } from './main.ts';
import { textExamples } from './predict-input.ts';
import { isOneLineUsageError, runCli } from './testing/run-cli.ts';
import { writeFewglueSubset } from '../data/testing/fewglue-subset.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'pg-eval-'));
const DATA = join(tmp, 'data');
const RUN = join(tmp, 'run');
const STEPS = 6;

test.before(async () => {
  writeFewglueSubset(DATA, 'RTE', { train: 24, dev32: 8, val: 6 });
  const t = await runCli(
    'train',
    ...['--model', MODEL, '--task', 'RTE', '--data', DATA, '--steps', String(STEPS), '--batch-size', '4'],
    ...['--eval-every', '1', '--max-length', '32', '--prompt-length', '2', '--lr', '0.3', '--backend', 'cpu'],
    ...['--out', RUN],
  );
  assert.is(t.code, 0, t.err);
});

/** The dev records training logged, in order. */
const devRecords = () =>
  readFileSync(join(RUN, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: number; split: string; accuracy?: number })
    .filter((r) => r.split === 'dev');

test('eval scores the best dev step, says so, and gets the dev score training logged for it', async () => {
  const dev = devRecords();
  const best = dev.reduce((a, r) => (r.accuracy! > a.accuracy! ? r : a)); // the first maximum
  assert.ok(best.step < STEPS, `the run's best dev step (${best.step}) must precede its last step for this test`);
  const j = await runCli('eval', '--run', RUN, '--split', 'dev32', '--json');
  assert.is(j.code, 0, j.err);
  const line = JSON.parse(j.out) as Record<string, unknown>;
  assert.is(line['checkpointStep'], best.step);
  assert.is(line['trainedSteps'], STEPS);
  assert.is(line['accuracy'], best.accuracy, 'the scored parameters are the ones training evaluated at the best step');
  assert.is(line['examples'], 8);

  const table = await runCli('eval', '--run', RUN, '--split', 'dev32');
  assert.is(table.code, 0, table.err);
  const [head, columns, row, ...rest] = table.out.trimEnd().split('\n');
  assert.match(head!, new RegExp(`parameters of step ${best.step} \\(the best on dev, of ${STEPS} trained\\); cpu`));
  assert.equal(columns!.split(/\s+/), ['task', 'split', 'examples', 'accuracy']);
  assert.equal(row!.split(/\s+/), ['RTE', 'dev32', '8', best.accuracy!.toFixed(4)]);
  assert.equal(rest, []);
});

test('--split: the help lists test, which is val under its other name; anything else is refused', async () => {
  const help = buildProgram()
    .commands.find((c) => c.name() === 'eval')!
    .helpInformation();
  assert.match(
    help.replace(/\s+/g, ' '),
    /--split <split> .*\(choices: "train", "dev32", "val", "test", default: "val"\)/,
  );
  const val = await runCli('eval', '--run', RUN, '--split', 'val', '--json');
  const testSplit = await runCli('eval', '--run', RUN, '--split', 'test', '--json');
  assert.is(testSplit.code, 0, testSplit.err);
  const score = (o: string) => (JSON.parse(o) as { accuracy: number; examples: number }).accuracy;
  assert.is(score(testSplit.out), score(val.out));
  const bad = await runCli('eval', '--run', RUN, '--split', 'dev');
  assert.ok(isOneLineUsageError(bad), bad.err);
  assert.match(
    bad.err,
    /^promptgrad: --split dev: expected one of train, dev32, val, test \(see promptgrad eval --help\)$/m,
  );
});

test("--backend, --threads, --batch-size: train's options with train's checks, and they take effect", async () => {
  const cpu = await runCli('eval', '--run', RUN, '--json');
  const wasm = await runCli('eval', '--run', RUN, '--backend', 'wasm', '--threads', '1', '--batch-size', '1');
  assert.is(wasm.code, 0, wasm.err);
  assert.match(wasm.out.split('\n')[0]!, /wasm/, 'the table names the backend it ran on');
  const acc = (JSON.parse(cpu.out) as { accuracy: number }).accuracy;
  assert.match(wasm.out, new RegExp(`RTE\\s+val\\s+6\\s+${acc.toFixed(4)}`));
  for (const cmd of ['eval', 'predict'] as const) {
    const input = cmd === 'predict' ? ['--text', 'a', '--text-pair', 'b'] : [];
    const cases: [string[], RegExp][] = [
      [['--backend', 'tpu'], /^promptgrad: --backend tpu: expected one of cpu, wasm, webgpu, auto \(see/],
      [['--threads', '-1'], /^promptgrad: --threads -1: expected an integer ≥ 0 \(see/],
      [['--threads', '100000'], /^promptgrad: --threads 100000: this machine has \d+ cores?/],
      [['--batch-size', '0'], /^promptgrad: --batch-size 0: expected an integer ≥ 1 \(see/],
      [['--batch-size', '100000000'], /^promptgrad: --batch-size 100000000: the run would need about/],
    ];
    for (const [flags, want] of cases) {
      const r = await runCli(cmd, '--run', RUN, ...input, ...flags);
      assert.ok(isOneLineUsageError(r), `${cmd} ${flags.join(' ')}: ${r.err}`);
      assert.match(r.err.trim(), want);
    }
  }
  const train = await runCli('train', '--out', join(tmp, 'x'), '--model', MODEL, '--task', 'RTE', '--threads', '-1');
  assert.match(train.err, /^promptgrad: --threads -1: expected an integer ≥ 0 \(see promptgrad train --help\)$/m);
});

test('predict --text / --text-pair: the same predictions as the same record from --input', async () => {
  const record = { premise: 'A cat sat on the mat.', hypothesis: 'An animal sat.' };
  const input = join(tmp, 'one.jsonl');
  writeFileSync(input, `${JSON.stringify(record)}\n${JSON.stringify({ premise: 'It rained.', hypothesis: 'Dry.' })}\n`);
  const fromFile = await runCli('predict', '--run', RUN, '--input', input);
  assert.is(fromFile.code, 0, fromFile.err);
  const texts = ['--text', record.premise, '--text-pair', record.hypothesis, '--text', 'It rained.'];
  const fromFlags = await runCli('predict', '--run', RUN, ...texts, '--text-pair', 'Dry.');
  assert.is(fromFlags.code, 0, fromFlags.err);
  assert.is(fromFlags.out, fromFile.out);
  assert.is(fromFlags.out.trim().split('\n').length, 2);
  const cases: [string[], RegExp][] = [
    [['--text', 'only one text'], /RTE example is a text pair \(premise, hypothesis\); give the second text/],
    [[...texts], /--text-pair: 1 given for 2 --text/],
    [[], /give the examples with --input <jsonl> or --text/],
    [['--input', input, '--text', 'x'], /give the examples with --input <jsonl> or --text "…" \(one of them\)/],
  ];
  for (const [flags, want] of cases) {
    const r = await runCli('predict', '--run', RUN, ...flags);
    assert.ok(isOneLineUsageError(r), `${flags.join(' ')}: ${r.err}`);
    assert.match(r.err, want);
  }
  assert.throws(
    () => textExamples(['a'], ['b'], 'WiC'),
    (e: unknown) => e instanceof UsageError && /--input/.test(e.message),
  );
  const custom = textExamples(['a', 'b'], [], 'custom');
  assert.equal(
    custom.map((e) => e.view),
    [{ text: 'a' }, { text: 'b' }],
  );
});

test('one error format: a bad value from commander or from the config checks reads `--flag value: why`', async () => {
  const train = (...more: string[]) =>
    runCli('train', '--model', MODEL, '--task', 'RTE', '--data', DATA, '--out', join(tmp, 'never'), ...more);
  const cases: [Promise<Awaited<ReturnType<typeof runCli>>>, RegExp][] = [
    [
      train('--method', 'lora'),
      /^promptgrad: --method lora: expected one of soft, prefix, dynamic, infoprompt \(see promptgrad train --help\)$/,
    ],
    [train('--steps', 'many'), /^promptgrad: --steps many: expected an integer ≥ 1 \(see promptgrad train --help\)$/],
    [train('--lr', '-1'), /^promptgrad: --lr -1: must be > 0$/],
    [train('--weights', 'int4'), /^promptgrad: --weights int4: expected one of f32, f16, int8 \(see/],
    [train('--share', 'all'), /^promptgrad: --share all: expected one of none, prompt, pool \(see/],
    [train('--mix', 'random'), /^promptgrad: --mix random: must be proportional, uniform or temperature:T with T > 0$/],
    [train('--dropout', 'yes'), /^promptgrad: --dropout yes: expected a rate in \[0, 1\), true or false \(see/],
    [
      runCli('sweep', '--parallel', '0'),
      /^promptgrad: --parallel 0: expected an integer ≥ 1 \(see promptgrad sweep --help\)$/,
    ],
    [runCli('eval', '--bogus'), /^promptgrad: unknown option '--bogus' \(see promptgrad eval --help\)$/],
  ];
  for (const [run, want] of cases) {
    const r = await run;
    assert.ok(isOneLineUsageError(r), r.err);
    assert.match(r.err.trim(), want);
  }
});

test('the top-level help describes the demo as the demo encoder, not a tiny random one', () => {
  const help = buildProgram().helpInformation() + String(buildProgram().commands.map((c) => c.helpInformation()));
  assert.not.match(help, /tiny random/i);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
