/**
 * The browser entry (browser.ts → dist/browser.js): it bundles for the browser with nothing from
 * Node in it (Dawn and the disk swapped for navigator.gpu and fetch by package.json's "browser" field),
 * and it exports what index.ts exports except the listed Node-only names (which write files or a
 * terminal), plus `io`.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as browser from '../../browser.ts';
import * as node from '../../index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Names index.ts exports that the browser entry leaves out, by namespace: each needs a file system. */
const NODE_ONLY: Readonly<Record<string, readonly string[]>> = {
  // the run-level API: run folders, bundled files on disk, the Node loaders behind setupRun
  '': [
    'BUNDLED_FEWGLUE',
    'buildMultitaskModel',
    'buildTaskModel',
    'DEFAULTS',
    'DROPOUT_DEFAULTS',
    'DEMO_ENCODER',
    'evaluate',
    'exportAdapter',
    'exportPeftAdapter',
    'importPeftAdapter',
    'loadRun',
    'loadTaskData',
    'logitsOf',
    'METHODS',
    'NonFiniteError',
    'predict',
    'removeRunFolder',
    'RUN_FILES',
    'runConfig',
    'setupMultitaskRun',
    'setupRun',
    'textExamples',
    'train',
    'trainMultitask',
    'UsageError',
  ],
  prompting: ['configMismatches', 'exportPeftAdapter', 'importPeftAdapter', 'modelWithPooler', 'storedBaseModelName'],
  training: [
    'createProgress',
    'encodeState',
    'fsyncWriter',
    'loadCheckpoint',
    'MetricRecordCodec',
    'openMetricsLog',
    'parseMetricsLog',
    'readMetricsLog',
    'readStateJson',
    'resolveDir',
    'saveCheckpoint',
    'STATE_FORMAT',
    'STATE_JSON',
    'STATE_TENSORS',
    'StateJsonCodec',
    'writeDirAtomic',
  ],
};

const names = (o: object): string[] => Object.keys(o).sort();

test('the browser bundle has no Node module, Dawn or terminal code in it', async () => {
  const r = await build({
    absWorkingDir: ROOT,
    entryPoints: ['browser.ts'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(r.metafile.inputs);
  for (const swapped of ['io/platform.browser.ts', 'core/backend/webgpu/platform-gpu.browser.ts'])
    assert.ok(inputs.includes(swapped), `${swapped} is in the bundle`);
  const nodeOnly = inputs.filter(
    (f) =>
      f === 'io/platform.ts' ||
      f === 'core/backend/webgpu/platform-gpu.ts' ||
      /node_modules\/(webgpu|cli-progress)\//.test(f) ||
      f.startsWith('node:'),
  );
  assert.equal(nodeOnly, []);
  const code = r.outputFiles[0]!.text;
  assert.not.match(code, /from\s*["']node:|require\(["']/);
});

test('the browser entry exports what index.ts does, less the Node-only names, plus io', () => {
  const flat = (m: object) =>
    names(m).filter((k) => !['models', 'prompting', 'losses', 'data', 'training', 'io'].includes(k));
  assert.equal(
    flat(browser),
    flat(node).filter((k) => !NODE_ONLY['']!.includes(k)),
  );
  for (const ns of ['models', 'prompting', 'losses', 'data', 'training'] as const) {
    const expected = names(node[ns]).filter((k) => !(NODE_ONLY[ns] ?? []).includes(k));
    assert.equal(names(browser[ns]), expected, ns);
    for (const k of NODE_ONLY[ns] ?? []) assert.ok(k in node[ns], `${ns}.${k} is still exported in Node`);
  }
  assert.ok(typeof browser.io.mountFiles === 'function');
});

test.run();
