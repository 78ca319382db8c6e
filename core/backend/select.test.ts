/**
 * `auto`'s rule on adapter descriptions as Dawn and browsers report them (vendor / architecture /
 * device / description): a real GPU takes WebGPU; a software renderer or no adapter takes wasm, and
 * the reason names the adapter. The descriptions below are the shapes real adapters give, typed in.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { autoChoice, isSoftwareAdapter } from './select-common.ts';

const GPUS = [
  'nvidia / ampere / NVIDIA H100 80GB HBM3 / NVIDIA: 550.54.15',
  'amd / rdna-3 / AMD Radeon RX 7900 XTX (RADV NAVI31) / radv Mesa 24.0.5',
  'intel / gen-12lp / Intel(R) UHD Graphics 770 (ADL-S GT1) / Intel open-source Mesa driver: Mesa 24.0.5',
  'apple / metal-3 / Apple M2',
];
const SOFTWARE = [
  'mesa / cpu / llvmpipe (LLVM 15.0.6, 256 bits) / Mesa 23.2.1 (lavapipe)',
  'google / swiftshader / SwiftShader Device (Subzero) / SwiftShader driver',
  'microsoft / Microsoft Basic Render Driver (software adapter)',
  'unknown / fallback',
];

test('a GPU adapter takes webgpu, naming the adapter', () => {
  for (const info of GPUS) {
    const c = autoChoice({ adapterInfo: info });
    assert.is(c.kind, 'webgpu', info);
    assert.ok(c.why.includes(info), c.why);
    assert.not.ok(isSoftwareAdapter(info), info);
  }
});

test('a software adapter (lavapipe / llvmpipe / SwiftShader / fallback) takes wasm and says why', () => {
  for (const info of SOFTWARE) {
    const c = autoChoice({ adapterInfo: info });
    assert.is(c.kind, 'wasm', info);
    assert.match(c.why, /software renderer/);
    assert.ok(c.why.includes(info), c.why);
  }
});

test('no adapter takes wasm with the reason given', () => {
  const c = autoChoice({ missing: 'navigator.gpu.requestAdapter() returned null' });
  assert.is(c.kind, 'wasm');
  assert.match(c.why, /no WebGPU adapter \(navigator\.gpu\.requestAdapter\(\) returned null\)/);
});

test.run();
