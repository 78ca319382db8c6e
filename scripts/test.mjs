// The test command: strict typecheck, Prettier and ESLint, then every *.test.ts file in its own Node process (uvu suites),
// two at a time. Prints one line per file and ends with `N passed, N failed`; exits 1 on any failure.
// Usage: node scripts/test.mjs [--no-typecheck] [filter-substring ...]   (--no-typecheck skips all three static checks)
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cpus } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const skipTypecheck = args.includes('--no-typecheck');
const filters = args.filter((a) => !a.startsWith('--'));
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'runs']);

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name) || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out.sort();
}

// eslint-disable-next-line no-control-regex -- ANSI colour codes start with ESC
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

function run(cmd, argv, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, NO_COLOR: '1', ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), out: stripAnsi(out) }));
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

// The static checks: each counts as one test, so CI fails on a type error, a formatting drift or a lint.
const STATIC_CHECKS = [
  ['typecheck (tsc --noEmit, strict)', 'node_modules/typescript/bin/tsc', ['--noEmit', '-p', 'tsconfig.json']],
  // the web page (web/) has the DOM's types as well, so it has its own tsconfig
  [
    'typecheck web/ (tsc --noEmit, strict, DOM)',
    'node_modules/typescript/bin/tsc',
    ['--noEmit', '-p', 'web/tsconfig.json'],
  ],
  ['format (prettier --check .)', 'node_modules/prettier/bin/prettier.cjs', ['--check', '.']],
  ['lint (eslint .)', 'node_modules/eslint/bin/eslint.js', ['.']],
];

if (!skipTypecheck) {
  for (const [name, script, argv] of STATIC_CHECKS) {
    const t0 = Date.now();
    const r = await run(process.execPath, [join(root, script), ...argv]);
    if (r.code === 0) {
      passed++;
      console.log(`ok   ${name} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    } else {
      failed++;
      failures.push([name, r.out]);
      console.log(`FAIL ${name}`);
    }
  }
}

const files = findTests(root).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
const jobs = Math.max(1, Math.min(2, cpus().length));
let next = 0;
async function worker() {
  while (next < files.length) {
    const file = files[next++];
    const t0 = Date.now();
    const r = await run(process.execPath, ['--import', join(root, 'scripts/register.mjs'), file]);
    const total = Number(/Total:\s+(\d+)/.exec(r.out)?.[1] ?? NaN);
    const ok = Number(/Passed:\s+(\d+)/.exec(r.out)?.[1] ?? NaN);
    const skip = Number(/Skipped:\s+(\d+)/.exec(r.out)?.[1] ?? 0);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (Number.isNaN(total) || Number.isNaN(ok)) {
      failed++;
      failures.push([file, r.out]);
      console.log(`FAIL ${file} (no uvu summary; exit ${r.code}) ${secs}s`);
      continue;
    }
    // uvu's Total counts the tests that ran (skipped ones are reported separately)
    const bad = total - ok + (r.code !== 0 && total === ok ? 1 : 0);
    passed += ok;
    failed += bad;
    skipped += skip;
    if (bad > 0) failures.push([file, r.out]);
    const notes = [...r.out.matchAll(/^SKIP: (.*)$/gm)].map((m) => m[1]);
    console.log(
      `${bad > 0 ? 'FAIL' : 'ok  '} ${file}: ${ok}/${total} passed${skip ? `, ${skip} skipped` : ''} ${secs}s${notes.length ? `  (${notes.join('; ')})` : ''}`,
    );
  }
}
await Promise.all(Array.from({ length: jobs }, worker));

for (const [name, out] of failures) {
  console.log(`\n==== ${name} ====\n${out.slice(-6000)}`);
}
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
