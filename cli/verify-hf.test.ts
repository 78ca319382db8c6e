/** `verify-hf` on both fixture folders, f64 and f32: every key checked and within tolerance. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { cpuBackend } from '../core/index.ts';
import { verifyHfFolder } from './verify-hf.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/hf-reference/', import.meta.url));

for (const name of ['bert-tiny', 'roberta-tiny']) {
  for (const dtype of ['f64', 'f32'] as const) {
    test(`verify-hf ${name} --dtype ${dtype}: every reference key passes`, async () => {
      const { results, unchecked } = await verifyHfFolder(`${FIXTURES}${name}`, { backend: cpuBackend(), dtype });
      assert.equal(unchecked, [], 'keys present in the reference but not checked');
      const bad = results.filter((r) => !r.ok).map((r) => `${r.key}: ${r.detail ?? ''}`);
      assert.equal(bad, []);
      assert.ok(
        results.some((r) => r.key.startsWith('tokenization')),
        'tokenization cases ran',
      );
      assert.ok(
        results.some((r) => r.key === 'vjp.grad_inputs_embeds'),
        'vjp case ran',
      );
      if (name === 'bert-tiny')
        assert.ok(
          results.some((r) => r.key === 'peft.prefix.grad.prompt_encoder.embedding.weight'),
          'peft cases ran',
        );
    });
  }
}

test.run();
