/**
 * The check both training loops' fence tests end with (training/loop-fence.test.ts, multitask/fence.test.ts):
 * a fence that refuses from the moment a checkpoint of the run folder is being written, as if the worker
 * lost the run there, must stop the run with the fence's refusal, be asked before the write and again at
 * its commit, and leave neither a swapped-in checkpoint nor a temporary checkpoint folder behind.
 */
import { existsSync, readdirSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { tmpDirWriter } from '../atomic-dir.ts';
import { RUN_FILES } from '../loop.ts';

class TakenOver extends Error {}

/** Runs `run` (one training run writing to `out`) with the refusing fence and checks what it left. */
export async function expectCheckpointRefused(
  out: string,
  run: (fence: () => void) => Promise<unknown>,
): Promise<void> {
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
    await run(fence);
    assert.unreachable('the run should stop at its first checkpoint write');
  } catch (e) {
    assert.instance(e, TakenOver, String(e));
  }
  assert.ok(taken && calls >= 3, `fence asked before the write and at its commit (${calls} calls)`);
  const left = readdirSync(out);
  assert.not.ok(left.includes(RUN_FILES.checkpoint), `no checkpoint swapped in: ${left.join(', ')}`);
  assert.not.ok(writing(), `no temporary checkpoint folder left: ${left.join(', ')}`);
}
