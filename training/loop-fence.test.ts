/**
 * TrainOptions.fence at a checkpoint write: it is asked again once the new checkpoint folder is complete,
 * just before it replaces the old one (a sweep worker paused in the middle of a write may have lost the
 * run meanwhile: its stale checkpoint must not be swapped in over the new owner's), and a write that
 * fails is reported as the fence's refusal when the fence refuses (the new owner may have cleared the
 * folder under it). Here the fence refuses from the moment a checkpoint is being written, as if the
 * worker lost the run there; bert-tiny, FewGLUE RTE, cpu backend.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import { train } from './loop.ts';
import { mergeConfig } from './run-config.ts';
import { setupRun } from './run-setup.ts';
import { expectCheckpointRefused } from './testing/checkpoint-fence.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const DATA = new URL('../datasets/fewglue', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'pg-loop-fence-'));

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
  await expectCheckpointRefused(out, (fence) => train(s.tm, task, { out, stream: null, fence }));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
