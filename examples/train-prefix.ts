/**
 * Prefix tuning (P-tuning v2 / PEFT PREFIX_TUNING) through the TypeScript API: per-layer key/value
 * prefixes, here reparameterised by a small MLP (`prefixProjection`), trained with `train(...)`.
 * Runs from a fresh clone: the demo task (examples/demo/data) and a tiny seeded random encoder.
 *
 *   node --import ./scripts/register.mjs examples/train-prefix.ts [steps]
 */
import { train, type TrainResult } from '../training/loop.ts';
import { demoEncoder, demoSetup } from './demo/encoder.ts';
import type { ExampleOptions } from './train-soft.ts';
import { removeRunFolder } from '../training/run-folder.ts';

export async function main(o: ExampleOptions = {}): Promise<TrainResult> {
  const out = o.out ?? 'runs/example-prefix',
    steps = o.steps ?? 200;
  removeRunFolder(out); // a previous run of this example, never a folder that holds anything else
  const enc = demoEncoder(out, { random: true });
  const { tm, task } = await demoSetup(enc.folder, {
    method: 'prefix',
    promptLength: 4,
    prefixProjection: 16,
    lr: 0.01,
    steps,
    evalEvery: Math.min(steps, 50),
  });
  const r = await train(tm, task, { out, ...(o.quiet ? { stream: null } : {}) });
  if (!o.quiet)
    console.log(
      `prefix (4 tokens × ${tm.model.cfg.numHiddenLayers} layers, MLP 16): best dev accuracy ${r.bestDev.toFixed(3)} at step ${r.bestStep}, held-out ${r.test?.['accuracy']?.toFixed(3)}; run folder ${out}`,
    );
  return r;
}

if (import.meta.url === `file://${process.argv[1]}`)
  await main(process.argv[2] ? { steps: Number(process.argv[2]) } : {});
