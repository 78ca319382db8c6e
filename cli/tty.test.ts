/**
 * `promptgrad train` in a terminal: under a pseudo-terminal (util-linux `script`), stdout is a TTY, so
 * the cli-progress bar runs; the command must print its summary and exit by itself (it used to hang
 * after `done:` because a line logged after the bar stopped re-armed the bar's redraw timer).
 * Also what a shell user sees: `--version`, and a pipe closed early (`| head`) ending quietly.
 * Without `script` the pseudo-terminal test is skipped (and says so), except under CI=true, where that fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const hasScript = spawnSync('script', ['--version']).status === 0;
if (!hasScript) {
  if (process.env['CI'] === 'true') throw new Error('util-linux `script` is needed for the pseudo-terminal test');
  console.log('SKIP: pseudo-terminal test: no util-linux `script`');
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

if (hasScript) {
  test('train under a pseudo-terminal draws the bar, prints its summary and exits 0', () => {
    const out = mkdtempSync(join(tmpdir(), 'pg-tty-'));
    try {
      const argv = [
        process.execPath,
        '--import',
        join(ROOT, 'scripts/register.mjs'),
        join(ROOT, 'cli/main.ts'),
        'train',
        ...['--model', join(ROOT, 'fixtures/hf-reference/bert-tiny'), '--task', 'RTE'],
        ...['--data', join(ROOT, 'datasets/fewglue'), '--steps', '2', '--eval-every', '2', '--batch-size', '4'],
        ...['--max-length', '24', '--prompt-length', '2', '--backend', 'cpu', '--dtype', 'f32'],
        ...['--out', join(out, 'run')],
      ];
      // -e: exit with the child's status; -q: no "Script started" lines; the typescript file is /dev/null.
      const r = spawnSync('script', ['-qec', argv.map(quote).join(' '), '/dev/null'], {
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, TERM: 'xterm', COLUMNS: '120' },
      });
      assert.is(r.signal, null, `killed after 120 s (${r.signal ?? ''}): the command did not exit\n${r.stdout}`);
      assert.is(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /soft\/RTE \[/, 'the progress bar was drawn (stdout was a TTY)');
      assert.match(r.stdout, /done: 2 steps/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}

const cli = [process.execPath, '--import', join(ROOT, 'scripts/register.mjs'), join(ROOT, 'cli/main.ts')]
  .map(quote)
  .join(' ');

test('--version prints the package version', () => {
  const r = spawnSync('sh', ['-c', `${cli} --version`], { encoding: 'utf8' });
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.is(r.stdout.trim(), pkg.version);
  assert.is(r.status, 0);
});

test('a closed stdout (help | head -1) ends quietly with status 0, not an EPIPE stack', () => {
  for (let i = 0; i < 3; i++) {
    const r = spawnSync('sh', ['-c', `${cli} help train | head -1 >/dev/null`], { encoding: 'utf8' });
    assert.is(r.stderr, '');
  }
  const r = spawnSync('bash', ['-c', `${cli} help train | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"`], {
    encoding: 'utf8',
  });
  assert.is(r.stdout.trim(), '0');
});
test.run();
