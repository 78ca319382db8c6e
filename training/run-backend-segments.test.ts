/**
 * Two run options on the bert-tiny fixture with FewGLUE RTE (a text-pair task):
 *  - `segmentIds`: `pair` gives the hypothesis token type 1 (what HF's tokenizer does), `single` sends no
 *    token types, so the encoder uses type 0 throughout — and the encoder output really changes;
 *  - `backend: 'wasm'`: the same run on the WebAssembly SIMD backend logs the same losses as the CPU
 *    reference (f32; the kernels sum in a different order, so equal to a few ulps, not bitwise).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prngKey } from '../core/index.ts';
import { readMetricsLog } from './log.ts';
import { RUN_FILES, train } from './loop.ts';
import { decodePartial, mergeConfig, type RunConfig } from './run-config.ts';
import { setupRun, type RunSetup } from './run-setup.ts';

const MODEL = new URL('../fixtures/hf-reference/bert-tiny', import.meta.url).pathname;
const DATA = new URL('../datasets/fewglue', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'pg-run-options-'));

async function setup(over: Partial<RunConfig>): Promise<RunSetup> {
  const c = mergeConfig([
    {
      model: MODEL,
      task: 'RTE',
      data: DATA,
      steps: 3,
      evalEvery: 3,
      checkpointEvery: 0,
      batchSize: 4,
      maxLength: 40,
      promptLength: 4,
      dropout: false,
      ...over,
    },
  ]);
  if (E.isLeft(c)) throw new Error(c.left.message);
  const s = await setupRun(c.right);
  return {
    ...s,
    task: { ...s.task, train: s.task.train.slice(0, 12), dev: s.task.dev.slice(0, 4), test: s.task.test.slice(0, 4) },
  };
}

test('config: segmentIds and the wasm backend decode; bad values name the field', () => {
  const ok = decodePartial({ segmentIds: 'single', backend: 'wasm', threads: 1 }, 'cfg.json');
  assert.ok(E.isRight(ok) && ok.right.segmentIds === 'single' && ok.right.backend === 'wasm');
  const bad = decodePartial({ segmentIds: 'none' }, 'cfg.json');
  assert.ok(
    E.isLeft(bad) && bad.left.field === 'segmentIds' && bad.left.message.includes('pair, single'),
    'error names the field and the choices',
  );
  const dflt = mergeConfig([{ model: 'm', task: 'RTE', data: 'd' }]);
  assert.ok(E.isRight(dflt) && dflt.right.segmentIds === 'pair', "default is BERT's pair convention");
});

test('segmentIds: pair marks the second text type 1, single sends type 0 throughout, and the output differs', async () => {
  const pair = await setup({ segmentIds: 'pair' }),
    single = await setup({ segmentIds: 'single' });
  const examples = pair.task.train.slice(0, 2);
  const bp = pair.tm.batch(examples),
    bs = single.tm.batch(examples);
  const types = bp.tokens.host.tokenTypeIds;
  assert.ok(types !== undefined && types.includes(1), 'pair: some tokens have type 1');
  assert.is(bs.tokens.host.tokenTypeIds, undefined, 'single: no token types (the encoder uses 0)');
  assert.equal([...bs.tokens.host.inputIds], [...bp.tokens.host.inputIds], 'same tokens either way');
  // Each setup has its own backend; the same key gives both the same prompt and head.
  const lp = pair.tm.forward(pair.tm.init(prngKey(0)), bp).logits.dataSync();
  const ls = single.tm.forward(single.tm.init(prngKey(0)), bs).logits.dataSync();
  assert.ok(
    lp.some((v, i) => Math.abs(v - ls[i]!) > 1e-6),
    'type ids change the logits',
  );
});

test("backend wasm: a short run logs the CPU reference's losses", async () => {
  const losses = async (backend: RunConfig['backend']) => {
    const s = await setup({ backend, threads: 1 });
    const out = join(tmp, backend);
    await train(s.tm, s.task, { out, stream: null });
    const r = readMetricsLog(join(out, RUN_FILES.metrics));
    if (E.isLeft(r)) throw new Error(r.left.message);
    return r.right.records.filter((x) => x.split === 'train').map((x) => x.loss as number);
  };
  const cpu = await losses('cpu'),
    wasm = await losses('wasm');
  assert.is(wasm.length, 3);
  for (const [i, l] of wasm.entries())
    assert.ok(
      Math.abs(l - cpu[i]!) <= 1e-5 * Math.max(1, Math.abs(cpu[i]!)),
      `step ${i + 1}: wasm ${l} vs cpu ${cpu[i]}`,
    );
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
