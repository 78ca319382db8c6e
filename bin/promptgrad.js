#!/usr/bin/env node
// Runs the bundled CLI (dist/cli.js) when built, else the TypeScript sources through the TS loader.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const built = new URL('dist/cli.js', root);
let entry = built.href;
if (!existsSync(fileURLToPath(built))) {
  register('./scripts/ts-loader.mjs', root);
  entry = new URL('cli/main.ts', root).href;
}
const { main, exitQuietlyOnEpipe } = await import(entry);
exitQuietlyOnEpipe();
process.exitCode = await main(process.argv.slice(2));
