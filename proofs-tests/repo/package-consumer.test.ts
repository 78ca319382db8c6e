/**
 * The package as a user installs it: build, `npm pack`, check what the tarball holds (the bundles, the
 * declarations, the bin, the bundled encoder and data; no sources, tests, benches or experiments),
 * install it into a fresh project in a temp folder (dependencies from the npm cache), type-check the
 * README's API tutorial there under `strict` with `module NodeNext` and with `moduleResolution bundler`
 * (no skipLibCheck: the declarations themselves are checked), compile it and run it with node, do the
 * same with examples/train-soft.ts (which imports only from 'promptgrad'), and run the installed
 * `promptgrad --version`.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'pg-consumer-'));
const app = join(tmp, 'app');

const version = (pkg: string) =>
  (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

function run(cmd: string, args: readonly string[], cwd: string, timeout = 300_000): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_fund: 'false' } });
  if (r.status !== 0)
    assert.unreachable(
      `${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`,
    );
  return r;
}

/** The README's tutorial: the ```ts block after the `api-tutorial` marker. */
function tutorial(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('<!-- api-tutorial');
  assert.ok(at >= 0, 'README has the api-tutorial marker');
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, 'a ts block follows the marker');
  return m[1]!;
}

let tarball = '';

test('npm pack ships the bundles, declarations, bin, demo encoder and FewGLUE, and nothing else', () => {
  run(process.execPath, [join(ROOT, 'scripts/build.mjs')], ROOT);
  const r = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT);
  const [info] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(tmp, info!.filename);
  const files = info!.files.map((f) => f.path);
  for (const f of [
    'package.json',
    'README.md',
    'bin/promptgrad.js',
    'dist/index.js',
    'dist/cli.js',
    'dist/types/index.d.ts',
    'models/demo-encoder/model.safetensors',
    'models/demo-encoder/README.md',
    'datasets/fewglue/RTE/train.jsonl',
  ])
    assert.ok(files.includes(f), `ships ${f}`);
  const stray = files.filter(
    (f) =>
      /^(proofs-tests|bench|experiments|pretrain|fixtures|examples|scripts)\//.test(f) ||
      (f.endsWith('.ts') && !f.endsWith('.d.ts')),
  );
  assert.equal(stray, [], 'no sources, tests, benches, experiments or fixtures');
  const dts = files.filter((f) => f.endsWith('.d.ts'));
  const leaks = dts.filter((f) => /from '\.[^']*\.ts'|cli-progress/.test(readFileSync(join(ROOT, f), 'utf8')));
  assert.equal(leaks, [], 'declarations import .js paths and keep cli-progress out of the public surface');
});

test('a fresh project installs the tarball; the README tutorial type-checks (NodeNext, bundler) and runs', () => {
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', version: '1.0.0' }),
  );
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      tarball,
      `typescript@${version('typescript')}`,
      `@types/node@${version('@types/node')}`,
    ],
    app,
  );
  writeFileSync(join(app, 'tutorial.ts'), tutorial());
  // An example script as it stands in examples/: it imports only from 'promptgrad'.
  writeFileSync(join(app, 'train-soft.ts'), readFileSync(join(ROOT, 'examples/train-soft.ts'), 'utf8'));
  const strict = { strict: true, target: 'ES2022', types: ['node'] };
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { ...strict, module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out' },
      files: ['tutorial.ts', 'train-soft.ts'],
    }),
  );
  writeFileSync(
    join(app, 'tsconfig.bundler.json'),
    JSON.stringify({
      compilerOptions: { ...strict, module: 'ESNext', moduleResolution: 'bundler', noEmit: true },
      files: ['tutorial.ts', 'train-soft.ts'],
    }),
  );
  const tsc = join(app, 'node_modules/typescript/bin/tsc');
  run(process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], app);
  run(process.execPath, [tsc, '-p', 'tsconfig.json'], app);
  const r = run(process.execPath, ['out/tutorial.js'], app, 600_000);
  assert.match(r.stdout, /RTE: 32 train \/ 32 dev examples/);
  assert.match(r.stdout, /step 30: loss \d/);
  assert.match(r.stdout, /val accuracy 0\.\d+/);
  assert.match(r.stdout, /(entailment|not_entailment) \{/);
  assert.match(r.stdout, /wrote a PROMPT_TUNING adapter/);
  const adapter = JSON.parse(readFileSync(join(app, 'adapters/rte-soft/adapter_config.json'), 'utf8')) as {
    peft_type: string;
  };
  assert.is(adapter.peft_type, 'PROMPT_TUNING');
  const ex = run(process.execPath, ['out/train-soft.js', '2'], app, 600_000);
  assert.match(ex.stdout, /soft prompt: best dev accuracy 0\.\d+ \(step 2\)/);
  assert.match(ex.stdout, /PEFT PROMPT_TUNING adapter \(4 tokens\) in runs\/example-soft\/adapter/);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.is(run(join(app, 'node_modules/.bin/promptgrad'), ['--version'], app).stdout.trim(), pkg.version);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
