/**
 * Generates the demo's toy task (run once; its output is committed): short "weather report" sentences of
 * filler words with exactly one cue word, labelled by which cue family it belongs to (480 train / 48 dev /
 * 240 held-out; enough examples that a prompt must pick out the cue word, not memorise sentences). Seeded, so the
 * files are reproducible: `node --import ./scripts/register.mjs examples/demo/make-data.ts`.
 * Written for PromptGrad and licensed with it (Apache-2.0); no external text.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mulberry32 } from '../../data/index.ts';

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

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = new URL('./data/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const splits = { train: makeSplit(480, 1), dev32: makeSplit(48, 2), val: makeSplit(240, 3) };
  for (const [name, rows] of Object.entries(splits))
    writeFileSync(new URL(`${name}.jsonl`, dir), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  console.log('wrote examples/demo/data/{train,dev32,val}.jsonl');
}
