/**
 * The size budget (STYLE.md: about 300 lines a file, split by concept past that): files over 300
 * lines are listed; a file over 400 fails, since by then it is two concepts in one file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SKIP = new Set(['node_modules', 'dist', 'runs', '.git']);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name) || name.startsWith('.')) return [];
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [p] : [];
  });
}

test('no source file is over 400 lines; files over 300 are listed', () => {
  const sizes = sources(ROOT).map((p) => [relative(ROOT, p), readFileSync(p, 'utf8').split('\n').length] as const);
  const over = sizes.filter(([, n]) => n > 300).sort((a, b) => b[1] - a[1]);
  if (over.length) console.log(`SKIP: over the 300-line budget: ${over.map(([f, n]) => `${f} (${n})`).join(', ')}`);
  assert.equal(
    over.filter(([, n]) => n > 400).map(([f]) => f),
    [],
  );
});

test.run();
