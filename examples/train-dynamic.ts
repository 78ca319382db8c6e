/**
 * Dynamic prompting (docs/methods.md §3) through the TypeScript API: the prompt's position (split around the
 * text) chosen per instance, its length chosen per task, and a pool of 2 prompt sets mixed per input;
 * Gumbel-softmax samples while training (temperature annealed by step), the argmax at evaluation. The
 * chosen positions and lengths are logged in metrics.jsonl (`dynPositionHist`, `dynLengthMean`, …).
 * Runs from a fresh clone: the demo task (examples/demo/data) and a tiny seeded random encoder.
 *
 *   node --import ./scripts/register.mjs examples/train-dynamic.ts [steps]
 */
import { train, type TrainResult } from '../training/loop.ts';
import { demoEncoder, demoSetup } from './demo/encoder.ts';
import type { ExampleOptions } from './train-soft.ts';
import { removeRunFolder } from '../training/run-folder.ts';

export async function main(o: ExampleOptions = {}): Promise<TrainResult> {
  const out = o.out ?? 'runs/example-dynamic',
    steps = o.steps ?? 200;
  removeRunFolder(out); // a previous run of this example, never a folder that holds anything else
  const enc = demoEncoder(out, { random: true });
  const { tm, task } = await demoSetup(enc.folder, {
    method: 'dynamic',
    promptLength: 4,
    dynamicPosition: 'instance',
    dynamicLength: 'task',
    poolSize: 2,
    gumbelRate: 1e-3,
    steps,
    evalEvery: Math.min(steps, 50),
  });
  const r = await train(tm, task, { out, ...(o.quiet ? { stream: null } : {}) });
  if (!o.quiet) {
    const last = r.records.filter((x) => x.split === 'train').slice(-1)[0]!;
    console.log(
      `dynamic: best dev accuracy ${r.bestDev.toFixed(3)} at step ${r.bestStep}, held-out ${r.test?.['accuracy']?.toFixed(3)}`,
    );
    console.log(
      `last step: τ ${Number(last['gumbelTau']).toFixed(3)}, split points (j = 0..4) ${last['dynPositionHist']}, mean length ${last['dynLengthMean']}; run folder ${out}`,
    );
  }
  return r;
}

if (import.meta.url === `file://${process.argv[1]}`)
  await main(process.argv[2] ? { steps: Number(process.argv[2]) } : {});
