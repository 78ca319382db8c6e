/**
 * `kill -9` at random moments: a child `promptgrad train` (bert-tiny, FewGLUE RTE, a few steps, a
 * checkpoint every step) is killed with SIGKILL several times — during start-up, training steps,
 * checkpoint writes, the final evaluation — and restarted each time the way a user would (`--resume`
 * when a checkpoint is readable, else the same command again). The finished run must equal an
 * uninterrupted one byte for byte: config, results, plot and every tensor of the checkpoint; the metrics
 * log and checkpoint state equal once the wall-clock `time` fields are set aside; no debris is left.
 * The delays come from a seed printed with any failure, so a failing schedule can be replayed
 * (PG_KILL_SEED=<seed>).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inspectRunFolder } from './run-folder.ts';
import { writeFewglueSubset } from '../data/testing/fewglue-subset.ts';

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const MODEL = root('fixtures/hf-reference/bert-tiny');
const tmp = mkdtempSync(join(tmpdir(), 'pg-kill-'));
const DATA = join(tmp, 'data');

const SEED = Number(process.env['PG_KILL_SEED'] ?? Date.now() % 2 ** 31);
/** mulberry32: a tiny seeded PRNG for the kill schedule. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const trainArgs = (out: string, resume: boolean) => [
  '--import',
  root('scripts/register.mjs'),
  root('cli/main.ts'), // the sources, not a possibly stale dist/ bundle
  'train',
  ...(resume
    ? ['--out', out, '--resume']
    : [
        ...['--model', MODEL, '--task', 'RTE', '--data', DATA, '--steps', '8', '--batch-size', '4'],
        ...['--eval-every', '4', '--checkpoint-every', '1', '--max-length', '32', '--prompt-length', '2'],
        ...['--out', out],
      ]),
];

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly err: string;
}

/** Runs a child train; with `killAfterMs`, SIGKILLs it then (if it is still running). */
function child(out: string, killAfterMs?: number): Promise<Exit> {
  const resume = inspectRunFolder(out).checkpoint !== undefined;
  return new Promise((resolve) => {
    const p = spawn(process.execPath, trainArgs(out, resume), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, err });
    });
  });
}

/** JSON with every wall-clock `time` field dropped (the only thing two identical runs differ in). */
const noTime = (text: string): unknown => JSON.parse(text, (k, v: unknown) => (k === 'time' ? undefined : v));
const linesNoTime = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(noTime);

const listing = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();

test.before(() => {
  writeFewglueSubset(DATA, 'RTE', { train: 16, dev32: 4, val: 4 });
});

test('kill -9 at random moments, then resume: byte for byte the uninterrupted run', async () => {
  const ref = join(tmp, 'ref'),
    run = join(tmp, 'killed');
  const t0 = performance.now();
  const whole = await child(ref);
  assert.is(whole.code, 0, whole.err);
  const fullMs = performance.now() - t0;
  const random = rng(SEED);
  const schedule: string[] = [];
  let kills = 0;
  for (let attempt = 0; attempt < 16 && kills < 4; attempt++) {
    const delay = Math.round((0.1 + 0.7 * random()) * fullMs);
    const r = await child(run, delay);
    schedule.push(`${delay}ms:${r.signal ?? r.code}`);
    if (r.signal === 'SIGKILL') kills++;
    else if (r.code !== 0) assert.unreachable(`seed ${SEED} [${schedule.join(' ')}]: a restart failed: ${r.err}`);
    else if (kills > 0)
      break; // finished after at least one kill: compare
    else rmSync(run, { recursive: true, force: true }); // finished before its kill (a faster machine moment): again
  }
  assert.ok(kills >= 1, `seed ${SEED}: no child was killed [${schedule.join(' ')}]`);
  console.log(`kill schedule (seed ${SEED}): ${schedule.join(' ')}`);
  const last = await child(run);
  const where = `seed ${SEED}, kills after [${schedule.join(' ')}]`;
  assert.is(last.code, 0, `${where}: ${last.err}`);
  for (const f of ['config.json', 'results.json', 'curve.svg', 'checkpoint/state.safetensors'])
    assert.ok(readFileSync(join(run, f)).equals(readFileSync(join(ref, f))), `${where}: ${f} differs`);
  const text = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');
  assert.equal(linesNoTime(text(run, 'metrics.jsonl')), linesNoTime(text(ref, 'metrics.jsonl')), `${where}: metrics`);
  const state = 'checkpoint/state.json';
  assert.equal(noTime(text(run, state)), noTime(text(ref, state)), `${where}: ${state}`);
  assert.equal(listing(run), listing(ref), `${where}: debris left`);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
