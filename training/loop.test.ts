/** Training loop on the bert-tiny fixture with FewGLUE RTE: run-folder outputs, and resume ≡ uninterrupted. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RUN_FILES, train } from './loop.ts';
import { readMetricsLog } from './log.ts';
import { mergeConfig, type RunConfig } from './run-config.ts';
import { setupRun, type RunSetup } from './run-setup.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const DATA = new URL('../datasets/fewglue', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'pg-loop-'));

async function setup(over: Partial<RunConfig>): Promise<RunSetup> {
  const c = mergeConfig([
    {
      model: MODEL,
      task: 'RTE',
      data: DATA,
      steps: 4,
      evalEvery: 2,
      checkpointEvery: 2,
      batchSize: 4,
      maxLength: 40,
      promptLength: 4,
      ...over,
    },
  ]);
  if (E.isLeft(c)) throw new Error(c.left.message);
  const s = await setupRun(c.right);
  return { ...s, task: { ...s.task, dev: s.task.dev.slice(0, 6), test: s.task.test.slice(0, 6) } };
}

const losses = (dir: string) => {
  const r = readMetricsLog(join(dir, RUN_FILES.metrics));
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right.records.filter((x) => x.split === 'train').map((x) => [x.step, x.loss]);
};
const stateBytes = (dir: string) => readFileSync(join(dir, RUN_FILES.checkpoint, 'state.safetensors'));

for (const method of ['soft', 'prefix'] as const) {
  test(`${method}: run folder has metrics, curve, config, results, checkpoint; resume is bit-identical`, async () => {
    const over: Partial<RunConfig> = method === 'prefix' ? { method, prefixProjection: 8 } : { method };
    const full = join(tmp, `${method}-full`),
      split = join(tmp, `${method}-split`);
    const a = await setup(over);
    const ra = await train(a.tm, a.task, { out: full, stream: null });
    for (const f of Object.values(RUN_FILES)) assert.ok(existsSync(join(full, f)), `${f} written`);
    assert.ok(readFileSync(join(full, RUN_FILES.curve), 'utf8').startsWith('<svg'), 'curve is SVG');
    assert.is((JSON.parse(readFileSync(join(full, RUN_FILES.config), 'utf8')) as { method: string }).method, method);
    assert.is(ra.steps, 4);
    assert.ok(ra.test && typeof ra.test['accuracy'] === 'number', 'test accuracy reported');

    const b = await setup(over);
    const rb = await train(b.tm, b.task, { out: split, stream: null, stopAfter: 2 });
    assert.ok(rb.interrupted);
    assert.is(losses(split).length, 2);
    const c = await setup(over);
    await train(c.tm, c.task, { out: split, stream: null, resume: true });
    assert.equal(losses(split), losses(full), 'logged losses identical');
    assert.ok(Buffer.compare(stateBytes(split), stateBytes(full)) === 0, 'params and optimiser state bytes identical');
  });
}

test('a second fresh run into a used folder is refused', async () => {
  const s = await setup({ steps: 1 });
  const out = join(tmp, 'soft-full');
  try {
    await train(s.tm, s.task, { out, stream: null });
    assert.unreachable('should refuse');
  } catch (e) {
    assert.match(String(e), /--resume/);
  }
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
