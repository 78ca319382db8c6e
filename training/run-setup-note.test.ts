/**
 * The backend line of a run (stderr: `backend: …`) names the integer kernel that runs `--weights int8`:
 * every kernel gives the same numbers, so only this line tells a user which one (and how fast) they got.
 */
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mergeConfig, type RunConfig } from './run-config.ts';
import { setupRun } from './run-setup.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const DATA = new URL('../datasets/fewglue', import.meta.url).pathname;

async function note(weights: RunConfig['weights']): Promise<string> {
  const c = mergeConfig([
    { model: MODEL, task: 'RTE', data: DATA, backend: 'wasm', threads: 1, weights } satisfies Partial<RunConfig>,
  ]);
  if (E.isLeft(c)) throw new Error(c.left.message);
  const s = await setupRun(c.right);
  const kernel = s.tm.model.bk.int8Kernel;
  s.tm.model.dispose();
  return `${s.backendNote}\n${String(kernel)}`;
}

test('--weights int8 on wasm: the backend note names the int8 kernel', async () => {
  const [line, kernel] = (await note('int8')).split('\n') as [string, string];
  assert.ok(kernel.length > 0);
  assert.ok(line.includes(`int8 products: ${kernel}`), line);
});

test('--weights f32: no int8 kernel in the note', async () => {
  const [line] = (await note('f32')).split('\n') as [string];
  assert.not.match(line, /int8 products/);
});

test.run();
