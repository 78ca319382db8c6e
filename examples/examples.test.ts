/** The examples/train-*.ts scripts run end to end (a few steps each) on the demo task with a random encoder. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main as dynamic } from './train-dynamic.ts';
import { main as infoprompt } from './train-infoprompt.ts';
import { main as multitask } from './train-multitask.ts';
import { main as prefix } from './train-prefix.ts';
import { main as soft } from './train-soft.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pg-examples-'));

for (const [name, main] of [
  ['soft', soft],
  ['prefix', prefix],
  ['dynamic', dynamic],
  ['infoprompt', infoprompt],
] as const) {
  test(`examples/train-${name}.ts trains and writes its run folder`, async () => {
    const out = join(tmp, name);
    const r = await main({ steps: 3, out, quiet: true });
    assert.is(r.steps, 3);
    assert.ok(typeof r.test?.['accuracy'] === 'number', 'held-out accuracy');
    for (const f of ['metrics.jsonl', 'curve.svg', 'results.json', 'checkpoint'])
      assert.ok(existsSync(join(out, f)), f);
    if (name === 'soft' || name === 'infoprompt')
      assert.ok(existsSync(join(out, 'adapter', 'adapter_config.json')), 'PEFT adapter');
  });
}

test('examples/train-multitask.ts trains RTE + CB in one run and exports one adapter per task', async () => {
  const out = join(tmp, 'multitask');
  const r = await multitask({ steps: 3, out, quiet: true });
  assert.is(r.steps, 3);
  assert.ok(typeof r.test?.['RTE']?.accuracy === 'number' && typeof r.test['CB']?.macroF1 === 'number');
  for (const t of ['RTE', 'CB']) assert.ok(existsSync(join(out, 'adapters', t, 'adapter_config.json')), `${t} adapter`);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
