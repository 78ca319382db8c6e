/**
 * Which backend `train` takes by default, and where it says so. `--backend` defaults to `auto`: WebGPU
 * on a real GPU, wasm otherwise (on this project's CI, Mesa's lavapipe, a software renderer, so wasm);
 * f64 takes the cpu reference without probing WebGPU. The choice and its reason go
 * to stderr, and so does the WebGPU adapter line: stdout carries only the command's own output.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSoftwareAdapter } from '../core/backend/select-common.ts';
import { NoAdapterError } from '../core/backend/webgpu/device.ts';
import { createWebGpuBackend } from '../core/backend/webgpu/index.ts';
import { DEFAULTS } from '../training/run-config.ts';
import { backendFor } from '../training/run-setup.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const node = (args: readonly string[]) =>
  spawnSync(process.execPath, ['--import', join(ROOT, 'scripts/register.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });

/** What this machine's WebGPU offers: the adapter's description, or none. */
let adapterInfo: string | undefined;
try {
  const g = await createWebGpuBackend({ log: () => {} });
  adapterInfo = g.adapterInfo;
  g.destroy();
} catch (e) {
  if (!(e instanceof NoAdapterError)) throw e;
}

test('train defaults to --backend auto', () => {
  assert.is(DEFAULTS.backend, 'auto');
});

test('auto with f64 takes the cpu reference and says why', async () => {
  const f64 = await backendFor('auto', 1, { dtype: 'f64' });
  assert.is(f64.backend.name, 'cpu');
  assert.match(f64.note, /^auto: f64 runs on the reference, so the cpu backend/);
});

test('train without --backend: the choice and why on stderr, stdout clean of adapter lines', () => {
  const out = mkdtempSync(join(tmpdir(), 'pg-auto-'));
  try {
    const r = node([
      join(ROOT, 'cli/main.ts'),
      'train',
      ...['--model', join(ROOT, 'fixtures/hf-reference/bert-tiny'), '--task', 'RTE', '--steps', '1'],
      ...['--eval-every', '1', '--batch-size', '2', '--max-length', '24', '--prompt-length', '2', '--threads', '1'],
      ...['--out', join(out, 'run')],
    ]);
    assert.is(r.status, 0, r.stderr);
    const software = adapterInfo === undefined || isSoftwareAdapter(adapterInfo);
    // lavapipe (this project's CI) is a software renderer: wasm, and the reason names it
    if (adapterInfo !== undefined && /lavapipe|llvmpipe/.test(adapterInfo)) assert.ok(software);
    const want = software ? 'wasm' : 'webgpu';
    const why = software
      ? adapterInfo === undefined
        ? /backend: auto: no WebGPU adapter .*, so the wasm backend \(1 thread/
        : /backend: auto: the WebGPU adapter is a software renderer \(.+\), not a GPU.*, so the wasm backend/
      : /backend: auto: webgpu backend on a GPU adapter/;
    assert.match(r.stderr, why);
    assert.match(r.stdout, new RegExp(`promptgrad train: soft prompt, classifier head, RTE .*, ${want} backend, f32`));
    assert.not.match(r.stdout, /webgpu: adapter|backend: auto/);
    const saved = JSON.parse(readFileSync(join(out, 'run', 'config.json'), 'utf8')) as { backend: string };
    assert.is(saved.backend, 'auto');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the WebGPU adapter line goes to stderr, not stdout', () => {
  if (adapterInfo === undefined) {
    if (process.env['CI'] === 'true') throw new Error('no WebGPU adapter under CI=true');
    console.log('SKIP: adapter line: no WebGPU adapter');
    return;
  }
  const r = node([
    '--input-type=module',
    '-e',
    `const { createWebGpuBackend } = await import(${JSON.stringify(join(ROOT, 'core/backend/webgpu/index.ts'))});
     (await createWebGpuBackend()).destroy();
     console.log('done');`,
  ]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'done\n');
  assert.match(r.stderr, /^webgpu: adapter .+$/m);
});

test('auto probing WebGPU several times in one process exits cleanly (Dawn teardown)', () => {
  if (adapterInfo === undefined) return console.log('SKIP: Dawn teardown: no WebGPU adapter');
  // Each probe made (and, on a software adapter, destroyed) a device on a Dawn instance of its own;
  // the dropped instances crashed Node at exit (SIGSEGV or a Dawn abort) in 6 of 10 runs of this script.
  const script = `const { selectBackend } = await import(${JSON.stringify(join(ROOT, 'core/backend/select.ts'))});
    for (let i = 0; i < 3; i++) {
      const r = await selectBackend('auto', { threads: 1 });
      if (process.argv[1] === 'destroy') r.backend.destroy?.();
    }
    console.log('done');`;
  for (let run = 0; run < 6; run++) {
    const r = node(['--input-type=module', '-e', script, run % 2 ? 'destroy' : 'keep']);
    assert.is(r.signal, null, `run ${run}: killed by ${r.signal}: ${r.stderr}`);
    assert.is(r.status, 0, `run ${run}: ${r.stderr}`);
    assert.is(r.stdout, 'done\n');
  }
});

test.run();
