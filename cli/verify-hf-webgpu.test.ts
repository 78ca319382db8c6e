/**
 * `verify-hf` on the WebGPU backend (f32): the whole encoder, its VJP and PEFT prompt/prefix tuning
 * against Hugging Face, on lavapipe in CI. Without an adapter the test is skipped (and says so),
 * except under CI=true, where a missing adapter fails.
 */
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NoAdapterError } from '../core/backend/webgpu/device.ts';
import { createWebGpuBackend, type WebGpuBackend } from '../core/backend/webgpu/index.ts';
import { verifyHfFolder } from './verify-hf.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/hf-reference/', import.meta.url));

let backend: WebGpuBackend | undefined;
try {
  backend = await createWebGpuBackend();
} catch (e) {
  if (!(e instanceof NoAdapterError) || process.env['CI'] === 'true') throw e;
  console.log(`SKIP: verify-hf on webgpu: ${e.message}`);
}

if (backend) {
  const bk = backend;
  for (const name of ['bert-tiny', 'roberta-tiny']) {
    test(`verify-hf ${name} --backend webgpu --dtype f32: every reference key passes`, async () => {
      const { results, unchecked } = await verifyHfFolder(`${FIXTURES}${name}`, { backend: bk, dtype: 'f32' });
      assert.equal(unchecked, []);
      assert.equal(
        results.filter((r) => !r.ok).map((r) => `${r.key}: ${r.detail ?? ''}`),
        [],
      );
    });
  }
  test.after(() => bk.destroy());
}
test.run(); // with no adapter: no tests, and the SKIP line above says why
