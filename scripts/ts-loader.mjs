// Node module-loader hooks: `resolve` adds the export condition "promptgrad-source", so that
// `import … from 'promptgrad'` inside this repository (the examples) resolves, through package.json's
// "exports", to the TypeScript sources rather than dist/ (an installed package has no such condition and
// gets dist/); `load` compiles .ts files with esbuild (types stripped, no type checking: `tsc --noEmit`
// does that in `npm test`).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

export async function resolve(specifier, context, nextResolve) {
  return nextResolve(specifier, { ...context, conditions: [...context.conditions, 'promptgrad-source'] });
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const source = await readFile(path, 'utf8');
  const { code } = await transform(source, {
    loader: 'ts',
    format: 'esm',
    target: 'es2022',
    sourcemap: 'inline',
    sourcefile: path,
  });
  return { format: 'module', source: code, shortCircuit: true };
}
