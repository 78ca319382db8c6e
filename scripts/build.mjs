// Bundles the library (dist/index.js) and the CLI (dist/cli.js) with esbuild; dependencies stay
// external (installed by npm). Types come from the .ts sources (package.json "types").
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'info',
};
await build({ ...common, entryPoints: ['index.ts'], outfile: 'dist/index.js' });
await build({ ...common, entryPoints: ['cli/main.ts'], outfile: 'dist/cli.js' });
// Sweep runs train in worker threads (sweeps/spawn-run.ts), which load this entry beside dist/cli.js.
await build({ ...common, entryPoints: ['sweeps/run-thread.ts'], outfile: 'dist/sweep-thread.js' });
// The browser entry (package.json exports condition "browser"): one self-contained ES module with its
// dependencies inside; the package.json "browser" field swaps Dawn and the disk for navigator.gpu and
// fetch / dropped files.
await build({
  entryPoints: ['browser.ts'],
  outfile: 'dist/browser.js',
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'info',
});
