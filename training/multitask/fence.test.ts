/**
 * TrainOptions.fence in the multitask loop, as in the single-task loop (loop-fence.test.ts): a run that
 * another attempt takes over stops at its next write with nothing written, and a fence that refuses
 * while a checkpoint is being written keeps that checkpoint from being swapped in. The takeover goes
 * through the sweep's owner file (sweeps/run-owner.ts), as a queued worker's would; the new owner's
 * resume then ends with the same checkpoint tensors as an uninterrupted run. bert-tiny, FewGLUE RTE + CB,
 * cpu backend.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { claimRun, ownerFence, RunTakenOver } from '../../sweeps/run-owner.ts';
import { RUN_FILES } from '../loop.ts';
import { mergeConfig } from '../run-config.ts';
import { SAMPLER_JSON } from './checkpoint.ts';
import { buildMultitaskModel, type MultitaskModel } from './model.ts';
import { expectCheckpointRefused } from '../testing/checkpoint-fence.ts';
import { setupMultitaskRun } from './setup.ts';
import { trainMultitask } from './train.ts';

const MODEL = new URL('../../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const DATA = new URL('../../datasets/fewglue', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'pg-multitask-fence-'));

async function setup(): Promise<MultitaskModel> {
  const c = mergeConfig([
    {
      model: MODEL,
      task: 'RTE,CB',
      data: DATA,
      steps: 4,
      evalEvery: 2,
      checkpointEvery: 1,
      batchSize: 4,
      maxLength: 32,
      promptLength: 3,
      backend: 'cpu',
    },
  ]);
  if (E.isLeft(c)) throw new Error(c.left.message);
  const { mt } = await setupMultitaskRun(c.right);
  const tasks = mt.tasks.map((t) => ({ ...t.data, dev: t.data.dev.slice(0, 4), test: t.data.test.slice(0, 4) }));
  return buildMultitaskModel(mt.model, mt.tokenizer, tasks, c.right);
}

/** Every file under `dir` (relative path → bytes and mtime), to show that nothing was written. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = join(sub, name),
        st = statSync(join(dir, rel));
      if (st.isDirectory()) walk(rel);
      else files.set(rel, `${readFileSync(join(dir, rel)).toString('base64')}@${st.mtimeMs}`);
    }
  };
  walk('');
  return files;
}

const checkpointFile = (run: string, f: string) => readFileSync(join(run, RUN_FILES.checkpoint, f));

test('another attempt takes the run after its first checkpoint: the first stops with nothing written, the new owner finishes it', async () => {
  const runs = join(tmp, 'runs'),
    id = 'mt-run',
    out = join(runs, id);
  claimRun(runs, id, 'attempt-A');
  const ownedByA = ownerFence(runs, id, 'attempt-A', () => false);
  let before: Map<string, string> | undefined;
  const fence = () => {
    // the new owner claims the run once the first checkpoint is in place, as a queued retry would
    if (!before && existsSync(join(out, RUN_FILES.checkpoint, SAMPLER_JSON))) {
      claimRun(runs, id, 'attempt-B');
      before = snapshot(out);
    }
    ownedByA();
  };
  const mt = await setup();
  try {
    await trainMultitask(mt, { out, stream: null, fence });
    assert.unreachable('attempt A should stop once B owns the run');
  } catch (e) {
    assert.instance(e, RunTakenOver, String(e));
    assert.match(String(e), /another worker's attempt owns the run now/);
  }
  assert.ok(before, 'the takeover happened after the first checkpoint');
  assert.equal([...snapshot(out).entries()], [...before.entries()], 'attempt A wrote nothing once B owned the run');
  assert.not.ok(existsSync(join(out, RUN_FILES.results)), 'no results.json from attempt A');
  // B resumes from A's last checkpoint and finishes; the result is the uninterrupted run's.
  const r = await trainMultitask(mt, {
    out,
    resume: true,
    stream: null,
    fence: ownerFence(runs, id, 'attempt-B', () => false),
  });
  assert.is(r.steps, 4);
  assert.ok(existsSync(join(out, RUN_FILES.results)));
  const whole = join(tmp, 'whole');
  await trainMultitask(mt, { out: whole, stream: null });
  for (const f of ['state.safetensors', SAMPLER_JSON])
    assert.ok(Buffer.compare(checkpointFile(out, f), checkpointFile(whole, f)) === 0, `${f} as uninterrupted`);
});

test('a fence that refuses while the checkpoint is being written: no checkpoint swapped in, its refusal reported', async () => {
  const out = join(tmp, 'commit');
  const tm = await setup();
  await expectCheckpointRefused(out, (fence) => trainMultitask(tm, { out, stream: null, fence }));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
