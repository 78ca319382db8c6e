/** For tests: a small FewGLUE task folder cut from the bundled copy (its first lines of each split). */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLED_FEWGLUE } from '../bundled.ts';

export type SplitSizes = Readonly<{ train: number; dev32: number; val: number }>;

/** Writes `<dataRoot>/<task>/{train,dev32,val}.jsonl` holding the first `sizes[split]` records of each split. */
export function writeFewglueSubset(dataRoot: string, task: string, sizes: SplitSizes): void {
  mkdirSync(join(dataRoot, task), { recursive: true });
  for (const split of ['train', 'dev32', 'val'] as const) {
    const lines = readFileSync(join(BUNDLED_FEWGLUE, task, `${split}.jsonl`), 'utf8')
      .split('\n')
      .slice(0, sizes[split]);
    writeFileSync(join(dataRoot, task, `${split}.jsonl`), `${lines.join('\n')}\n`);
  }
}
