/**
 * `promptgrad train` and Ctrl-C: SIGINT finishes the current step, writes a checkpoint and exits 130;
 * `--resume` then continues, and `--resume --steps N` extends a finished run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = [join(ROOT, 'cli/main.ts')];
const NODE_ARGS = ['--import', join(ROOT, 'scripts/register.mjs')];
const tmp = mkdtempSync(join(tmpdir(), 'pg-signals-'));
const run = join(tmp, 'run');
const TRAIN = [
  ...['train', '--model', join(ROOT, 'fixtures/hf-reference/bert-tiny'), '--task', 'RTE'],
  ...['--data', join(ROOT, 'datasets/fewglue'), '--batch-size', '4', '--max-length', '24', '--prompt-length', '2'],
  ...['--backend', 'cpu', '--eval-every', '1000', '--checkpoint-every', '0', '--out', run],
];

test('SIGINT during train: the step finishes, a checkpoint is written, exit 130', async () => {
  const child = spawn(process.execPath, [...NODE_ARGS, ...CLI, ...TRAIN, '--steps', '100000'], { cwd: tmp });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    if (!out.includes('promptgrad train:') && (out + String(d)).includes('promptgrad train:'))
      setTimeout(() => child.kill('SIGINT'), 1500);
    out += String(d);
  });
  child.stderr.on('data', (d: Buffer) => (out += String(d)));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.is(code, 130, out);
  assert.match(out, /SIGINT: finishing the current step/);
  assert.match(out, /interrupted after step \d+; checkpoint written/);
  assert.ok(existsSync(join(run, 'checkpoint', 'state.json')), 'checkpoint written');
});

test('--resume --steps N continues the interrupted run to N steps; fewer steps than saved are refused', () => {
  const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { steps: number };
  assert.is(cfg.steps, 100000);
  const less = spawnSync(process.execPath, [...NODE_ARGS, ...CLI, 'train', '--out', run, '--resume', '--steps', '5'], {
    encoding: 'utf8',
  });
  // the run has passed step 5 or not: fewer than the saved 100000 steps is refused either way
  assert.is(less.status, 2, less.stderr);
  assert.match(less.stderr, /give more to extend it/);
  const more = spawnSync(
    process.execPath,
    [...NODE_ARGS, ...CLI, 'train', '--out', run, '--resume', '--steps', '100001', '--lr', '1'],
    { encoding: 'utf8' },
  );
  assert.is(more.status, 2);
  assert.match(more.stderr, /only --steps, --backend and --threads may change\); drop --lr/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
