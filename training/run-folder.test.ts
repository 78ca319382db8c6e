/**
 * Run folders on real temp folders: what counts as a run (the marker, or a pre-marker folder of run
 * files with a checkpoint), that `train` claims only missing or empty folders (marker first), and that
 * every guard and reader sees a checkpoint that survives only as `checkpoint.old` the way resume does, and
 * that a removal (`npm run demo`, `train --overwrite`) cut short leaves a run folder, never a half one.
 */
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isOneLineUsageError, runCli } from '../cli/testing/run-cli.ts';
import { claimNewRun, inspectRunFolder, removeRunFolder, RUN_MARKER, type RemoveTree } from './run-folder.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const DATA = new URL('../datasets/fewglue', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'pg-runfolder-'));

const trainArgs = (out: string, steps = 2) => [
  'train',
  ...['--model', MODEL, '--task', 'RTE', '--data', DATA, '--steps', String(steps), '--batch-size', '4'],
  ...['--eval-every', '2', '--checkpoint-every', '2', '--max-length', '24', '--prompt-length', '2', '--out', out],
];

test('inspect: missing, empty, file, foreign, marked run and a pre-marker run folder', () => {
  const p = (n: string) => join(tmp, 'kinds', n);
  mkdirSync(p('empty'), { recursive: true });
  writeFileSync(p('file'), 'x');
  mkdirSync(p('foreign'));
  writeFileSync(p('foreign/config.json'), '{}');
  mkdirSync(p('marked'));
  writeFileSync(p(`marked/${RUN_MARKER}`), '{}');
  mkdirSync(p('legacy/checkpoint.old'), { recursive: true });
  writeFileSync(p('legacy/checkpoint.old/state.json'), '{}');
  writeFileSync(p('legacy/config.json'), '{}');
  const kinds = ['missing', 'empty', 'file', 'foreign', 'marked', 'legacy'].map((n) => inspectRunFolder(p(n)).kind);
  assert.equal(kinds, ['missing', 'empty', 'file', 'foreign', 'run', 'run']);
  assert.is(inspectRunFolder(p('legacy')).checkpoint, p('legacy/checkpoint.old'));
  // a user's file beside run files makes it not a run folder
  writeFileSync(p('legacy/notes.txt'), 'mine');
  assert.is(inspectRunFolder(p('legacy')).kind, 'foreign');
});

test('claimNewRun writes the marker first and clears what a run without a checkpoint left', () => {
  const out = join(tmp, 'claim', 'a', 'b');
  claimNewRun(out);
  assert.equal(readdirSync(out), [RUN_MARKER]);
  writeFileSync(join(out, 'metrics.jsonl'), '{"step":1}\n');
  claimNewRun(out); // a marked run that never reached a checkpoint starts again
  assert.equal(readdirSync(out), [RUN_MARKER]);
  assert.throws(() => claimNewRun(MODEL), /not a PromptGrad run folder \(it holds config\.json/);
  // killed while writing the marker: only its temporary file is there, and the folder is still ours
  const killed = join(tmp, 'claim', 'killed');
  mkdirSync(killed);
  writeFileSync(join(killed, `.${RUN_MARKER}.tmp-4242-0a1b2c3d`), '{"form');
  assert.is(inspectRunFolder(killed).kind, 'empty');
  claimNewRun(killed);
  assert.equal(readdirSync(killed), [RUN_MARKER]);
  // killed while writing its first checkpoint: the temporary checkpoint folder is the run's own debris
  rmSync(join(killed, RUN_MARKER));
  mkdirSync(join(killed, 'checkpoint.tmp-4242-0a1b2c3d'));
  writeFileSync(join(killed, 'checkpoint.tmp-4242-0a1b2c3d', 'state.safetensors'), 'half');
  assert.is(inspectRunFolder(killed).kind, 'empty');
  claimNewRun(killed);
  assert.equal(readdirSync(killed), [RUN_MARKER]);
  writeFileSync(join(killed, '.notes.txt.tmp-1-ab'), 'not one of ours');
  assert.is(inspectRunFolder(killed).kind, 'run'); // marked; but without the marker it would be foreign:
  rmSync(join(killed, RUN_MARKER));
  assert.is(inspectRunFolder(killed).kind, 'foreign');
});

test('a run left only as checkpoint.old: train refuses it, eval reads it, resume continues it', async () => {
  const out = join(tmp, 'old-only');
  const first = await runCli(...trainArgs(out, 2));
  assert.is(first.code, 0, first.err);
  renameSync(join(out, 'checkpoint'), join(out, 'checkpoint.old')); // a crash between the two renames
  const again = await runCli(...trainArgs(out, 2));
  assert.ok(isOneLineUsageError(again), again.err);
  assert.match(again.err, /already holds a run \(checkpoint\.old\)/);
  assert.ok(readdirSync(join(out, 'checkpoint.old')).includes('state.json'), 'the old checkpoint was wiped');
  const ev = await runCli('eval', '--run', out, '--split', 'dev32', '--json');
  assert.is(ev.code, 0, ev.err);
  assert.match(ev.out, /"checkpointStep":2/);
  const res = await runCli('train', '--out', out, '--resume');
  assert.is(res.code, 0, res.err);
  assert.ok(readdirSync(join(out, 'checkpoint')).includes('state.json'));
});

test('a pre-marker run folder still evaluates and resumes (and gets its marker)', async () => {
  const out = join(tmp, 'legacy-run');
  const first = await runCli(...trainArgs(out, 2));
  assert.is(first.code, 0, first.err);
  rmSync(join(out, RUN_MARKER));
  assert.is((await runCli('eval', '--run', out)).code, 0);
  const res = await runCli('train', '--out', out, '--resume');
  assert.is(res.code, 0, res.err);
  assert.ok(readdirSync(out).includes(RUN_MARKER));
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { steps: number };
  assert.is(cfg.steps, 2);
  const copy = join(tmp, 'model-in-run');
  cpSync(MODEL, copy, { recursive: true });
  const r = await runCli('eval', '--run', copy);
  assert.ok(isOneLineUsageError(r), r.err);
  assert.match(r.err, /is not a PromptGrad run folder/);
});

/**
 * Removes the first `n` files under `p` (depth first, by name or by reversed name: rm -r goes in directory
 * order, which is neither) and the folders they emptied; how many went.
 */
function removeSome(p: string, n: number, reversed: boolean): number {
  if (!statSync(p).isDirectory()) return (rmSync(p), 1);
  const names = readdirSync(p).sort();
  let gone = 0;
  for (const name of reversed ? names.reverse() : names)
    if (gone < n) gone += removeSome(join(p, name), n - gone, reversed);
  if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
  return gone;
}

/** Removes whole the first `k` paths it is given; the next loses its first `n` files, then fails (rm -r cut short). */
function cutAfter(k: number, n: number, reversed: boolean): RemoveTree {
  let calls = 0;
  return (p) => {
    if (calls++ < k) return rmSync(p, { recursive: true, force: true });
    removeSome(p, n, reversed);
    throw Object.assign(new Error(`EIO: i/o error, rm '${p}'`), { code: 'EIO' });
  };
}

test('a removal cut short leaves a run folder (checkpoint whole or gone) that the next removal finishes', async () => {
  const run = join(tmp, 'remove', 'run');
  const first = await runCli(...trainArgs(run, 2));
  assert.is(first.code, 0, first.err);
  const entries = readdirSync(run);
  const checkpointFiles = readdirSync(join(run, 'checkpoint')).sort();
  assert.ok(entries.length > 3 && checkpointFiles.length > 1, `${entries.join(', ')}; ${checkpointFiles.join(', ')}`);
  // one removal per entry but the marker, then the folder itself: cut each of them
  for (let k = 0; k <= entries.length - 1; k++) {
    for (const [n, reversed] of [1, 2, 3].flatMap((n) => [[n, false] as const, [n, true] as const])) {
      const out = join(tmp, 'remove', `cut-${k}-${n}-${reversed}`);
      cpSync(run, out, { recursive: true });
      assert.throws(() => removeRunFolder(out, '--out', cutAfter(k, n, reversed)), /EIO/);
      const f = inspectRunFolder(out);
      assert.ok(
        f.kind === 'run' || f.kind === 'empty' || f.kind === 'missing',
        `cut ${k}/${n}/${reversed}: ${f.kind} (${f.entries.join(', ')})`,
      );
      if (f.checkpoint)
        assert.equal(readdirSync(f.checkpoint).sort(), checkpointFiles, `cut ${k}/${n}/${reversed}: checkpoint whole`);
      removeRunFolder(out);
      assert.is(inspectRunFolder(out).kind, 'missing', `cut ${k}/${n}/${reversed}: removed`);
    }
  }
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
