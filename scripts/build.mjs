// Builds the npm package into dist/: esbuild bundles the library (dist/index.js) and the CLI
// (dist/cli.js), ESM for Node 20, dependencies left external (npm installs them); tsc writes the
// declarations (dist/types, tsconfig.build.json) and their relative `.ts` import paths become `.js`,
// so a consumer's `module NodeNext` or `moduleResolution bundler` project type-checks against them.
// Usage: node scripts/build.mjs [--no-types]
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
};
await build({ ...common, entryPoints: [join(root, 'index.ts')], outfile: join(dist, 'index.js') });
await build({ ...common, entryPoints: [join(root, 'cli/main.ts')], outfile: join(dist, 'cli.js') });
// Sweep runs train in worker threads (sweeps/spawn-run.ts), which load this entry beside dist/cli.js.
await build({ ...common, entryPoints: [join(root, 'sweeps/run-thread.ts')], outfile: join(dist, 'sweep-thread.js') });
// The browser entry (package.json exports condition "browser"): one self-contained ES module with its
// dependencies inside; the package.json "browser" field swaps Dawn and the disk for navigator.gpu and
// fetch / dropped files.
await build({
  entryPoints: [join(root, 'browser.ts')],
  outfile: join(dist, 'browser.js'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
});

if (!process.argv.includes('--no-types')) {
  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  const types = join(dist, 'types');
  // `from './x.ts'` / `import('./x.ts')` → `.js` (relative paths only; package imports stay as written).
  const rewrite = (text) => text.replace(/((?:from|import\()\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1$2.js$3');
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.d.ts')) writeFileSync(p, rewrite(readFileSync(p, 'utf8')));
    }
  };
  walk(types);
  // The WebGPU backend's declarations name GPUDevice & co.: the globals come from @webgpu/types (a dependency).
  for (const entry of ['index.d.ts', 'browser.d.ts']) {
    const file = join(types, entry);
    writeFileSync(file, `/// <reference types="@webgpu/types" />\n${readFileSync(file, 'utf8')}`);
  }
}
console.log('built dist/index.js, dist/cli.js, dist/browser.js and dist/types/');
