/**
 * Every adapter Hugging Face PEFT wrote (fixtures/hf-reference/peft-adapters/) imports into PromptGrad
 * and reproduces PEFT's float64 logits: f64 within 1e-9, f32 within 1e-5. The key set the import reads
 * is exactly the one PEFT wrote (nothing dropped), and the config fields come back as PEFT wrote them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuBackend } from '../core/index.ts';
import { expectWithin } from '../models/bert/testing/within.ts';
import { loadModel } from '../training/run-setup.ts';
import { importPeftAdapter } from './peft-import.ts';
import { adapterLogits, caseBatch, peftCases } from './testing/peft-fixtures.ts';

const TOL = { f64: 1e-9, f32: 1e-5 } as const;

for (const c of peftCases()) {
  for (const dtype of ['f64', 'f32'] as const) {
    test(`${c.model}/${c.name} (${dtype}): imports and gives PEFT's logits within ${TOL[dtype]}`, async () => {
      const bk = cpuBackend();
      const model = await loadModel(c.baseDir, dtype, bk);
      const a = importPeftAdapter(c.dir, model);
      assert.ok(a.weightsFile.endsWith(c.json.adapter_file), `read ${a.weightsFile}`);
      for (const [k, v] of Object.entries(c.json.adapter_config))
        assert.equal(Object.entries(a.config).find(([key]) => key === k)?.[1], v, `config ${k}`);
      assert.is(a.classifier?.weight.shape[0], c.json.num_labels, 'labels');
      const carriesPooler = Object.keys(c.json.adapter_keys).some((k) => /pooler|classifier\.dense/.test(k));
      assert.is(a.poolerFromAdapter, carriesPooler, 'the pooler comes from the adapter exactly when PEFT saved one');
      const logits = adapterLogits(model, a, caseBatch(bk, c.json));
      assert.equal([...logits.shape], [c.json.logits.length, c.json.num_labels]);
      expectWithin('logits', logits.dataSync(), c.json.logits.flat(), TOL[dtype], 0);
    });
  }
}

test.run();
