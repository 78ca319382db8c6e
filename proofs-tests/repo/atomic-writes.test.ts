/**
 * "Nothing half-written on disk" in the pretraining and experiment scripts and the demo (`npm run demo`, its
 * data generator) as in training: their sources
 * write files only through training/atomic-file.ts (or training/checkpoint.ts, training/log.ts and
 * training/atomic-dir.ts, which are atomic or append whole lines), never by writing a final path
 * directly. The behaviour is tested per module (proofs-tests/pretrain/atomic-outputs.test.ts,
 * experiments/output-files.test.ts, proofs-tests/demo/atomic-outputs.test.ts); this keeps a new direct
 * write from slipping in beside them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FOLDERS = ['pretrain', 'experiments', 'examples/demo'];
/** node:fs calls that write a path in place (truncate, then write: a crash leaves a part). */
const DIRECT_WRITE =
  /\b(writeFileSync|appendFileSync|createWriteStream|writeFile|appendFile|truncateSync|ftruncateSync)\s*\(/;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [p] : [];
  });
}

test('pretrain/, experiments/ and examples/demo/ write no file in place', () => {
  const found = FOLDERS.flatMap((f) => sources(join(ROOT, f))).flatMap((p) =>
    readFileSync(p, 'utf8')
      .split('\n')
      .flatMap((line, i) => (DIRECT_WRITE.test(line) ? [`${relative(ROOT, p)}:${i + 1}: ${line.trim()}`] : [])),
  );
  assert.equal(
    found,
    [],
    'write through writeFileAtomic (training/atomic-file.ts) or writeDirAtomic (training/atomic-dir.ts) instead',
  );
});

test.run();
