#!/usr/bin/env node
// Runs the bundled CLI (dist/cli.js) when built, else the TypeScript sources through the TS loader.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = new URL('../', import.meta.url);
const built = new URL('dist/cli.js', root);
if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  register('./scripts/ts-loader.mjs', root);
  const { main } = await import(new URL('cli/main.ts', root).href);
  process.exitCode = await main(process.argv.slice(2));
}
