/**
 * Generates the demo's toy task (run once; its output is committed): short "weather report" sentences of
 * filler words with exactly one cue word, labelled by which cue family it belongs to (480 train / 48 dev /
 * 240 held-out; enough examples that a prompt must pick out the cue word, not memorise sentences). Seeded, so the
 * files are reproducible: `node --import ./scripts/register.mjs examples/demo/make-data.ts`. The data folder is
 * replaced whole (training/atomic-dir.ts): a run cut short leaves the old three files, never a part of one or
 * a mix of old and new splits that the demo would then train on.
 * Written for PromptGrad and licensed with it (Apache-2.0); no external text.
 */
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../data/index.ts';
import { fsyncWriter, writeDirAtomic, type DurableWriter } from '../../training/atomic-dir.ts';

export const CUES = {
  sunny: ['sunshine', 'bright', 'clear'],
  rainy: ['rain', 'drizzle', 'showers'],
  snowy: ['snow', 'frost', 'blizzard'],
} as const;
export const FILLERS = [
  'the',
  'today',
  'morning',
  'evening',
  'town',
  'hills',
  'expect',
  'some',
  'later',
  'mostly',
] as const;

export function makeSplit(n: number, seed: number): { text: string; label: string }[] {
  const rnd = mulberry32(seed);
  const pick = <A>(xs: readonly A[]): A => xs[Math.floor(rnd() * xs.length)]!;
  const labels = Object.keys(CUES) as (keyof typeof CUES)[];
  return Array.from({ length: n }, (_, i) => {
    const label = labels[i % labels.length]!;
    const words = Array.from({ length: 2 + Math.floor(rnd() * 3) }, () => pick(FILLERS) as string);
    words.splice(Math.floor(rnd() * (words.length + 1)), 0, pick(CUES[label]));
    return { text: words.join(' '), label };
  });
}

/** The committed data folder (no trailing slash: atomic-dir.ts puts its temporary folder beside it). */
export const DEMO_DATA_FOLDER = fileURLToPath(new URL('./data', import.meta.url));

/** The three splits as jsonl files (name → bytes), seeded: the same bytes on every run. */
export function demoDataFiles(): ReadonlyMap<string, Uint8Array> {
  const splits = { train: makeSplit(480, 1), dev32: makeSplit(48, 2), val: makeSplit(240, 3) };
  const utf8 = new TextEncoder();
  return new Map(
    Object.entries(splits).map(([name, rows]) => [
      `${name}.jsonl`,
      utf8.encode(rows.map((r) => `${JSON.stringify(r)}\n`).join('')),
    ]),
  );
}

/** Replaces `folder` by one holding exactly the three splits; `writer` is injectable for failure tests. */
export async function writeDemoData(
  folder: string = DEMO_DATA_FOLDER,
  writer: DurableWriter = fsyncWriter,
): Promise<void> {
  await writeDirAtomic(folder, demoDataFiles(), writer);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeDemoData();
  console.log('wrote examples/demo/data/{train,dev32,val}.jsonl');
}
