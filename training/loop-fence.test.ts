/**
 * TrainOptions.fence at a checkpoint write: it is asked again once the new checkpoint folder is complete,
 * just before it replaces the old one (a sweep worker paused in the middle of a write may have lost the
 * run meanwhile: its stale checkpoint must not be swapped in over the new owner's), and a write that
 * fails is reported as the fence's refusal when the fence refuses (the new owner may have cleared the
 * folder under it). Here the fence refuses from the moment a checkpoint is being written, as if the
 * worker lost the run there; bert-tiny, FewGLUE RTE, cpu backend.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tmpDirWriter } from './atomic-dir.ts';
import { RUN_FILES, train } from './loop.ts';
import { mergeConfig } from './run-config.ts';
import { setupRun } from './run-setup.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const DATA = new URL('../datasets/fewglue', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'pg-loop-fence-'));

class TakenOver extends Error {}

test('a fence that refuses while the checkpoint is being written: no checkpoint swapped in, its refusal reported', async () => {
  const c = mergeConfig([
    {
      model: MODEL,
      task: 'RTE',
      data: DATA,
      steps: 2,
      evalEvery: 2,
      checkpointEvery: 1,
      batchSize: 4,
      maxLength: 32,
      promptLength: 4,
      backend: 'cpu',
    },
  ]);
  if (E.isLeft(c)) throw new Error(c.left.message);
  const s = await setupRun(c.right);
  const task = { ...s.task, dev: s.task.dev.slice(0, 4), test: s.task.test.slice(0, 4) };
  const out = join(tmp, 'run');
  const writing = () => readdirSync(out).some((f) => tmpDirWriter(f, RUN_FILES.checkpoint) !== undefined);
  let taken = false,
    calls = 0;
  const fence = () => {
    calls++;
    if (taken || (existsSync(out) && writing())) {
      taken = true; // a run once taken over stays so
      throw new TakenOver('another attempt owns the run now');
    }
  };
  try {
    await train(s.tm, task, { out, stream: null, fence });
    assert.unreachable('the run should stop at its first checkpoint write');
  } catch (e) {
    assert.instance(e, TakenOver, String(e));
  }
  assert.ok(taken && calls >= 3, `fence asked before the write and at its commit (${calls} calls)`);
  const left = readdirSync(out);
  assert.not.ok(left.includes(RUN_FILES.checkpoint), `no checkpoint swapped in: ${left.join(', ')}`);
  assert.not.ok(writing(), `no temporary checkpoint folder left: ${left.join(', ')}`);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
