/**
 * Dynamic prompting (docs/methods.md §3) through the TypeScript API: the prompt's position (split around the
 * text) chosen per instance, its length chosen per task, and a pool of 2 prompt sets mixed per input;
 * Gumbel-softmax samples while training (temperature annealed by step), the argmax at evaluation. The
 * chosen positions and lengths are logged in metrics.jsonl (`dynPositionHist`, `dynLengthMean`, …).
 * Imports only from 'promptgrad' (the same file runs where the package is installed): the bundled
 * demo encoder frozen, on the bundled FewGLUE RTE (16 dev and 32 held-out examples, to stay quick).
 *
 *   node --import ./scripts/register.mjs examples/train-dynamic.ts [steps]
 */
import { DEMO_ENCODER, removeRunFolder, runConfig, setupRun, train, type TrainResult } from 'promptgrad';

/** As in train-soft.ts (each example stands alone: it imports only from 'promptgrad'). */
interface ExampleOptions {
  readonly steps?: number;
  readonly out?: string;
  readonly quiet?: boolean;
}

export async function main(o: ExampleOptions = {}): Promise<TrainResult> {
  const out = o.out ?? 'runs/example-dynamic',
    steps = o.steps ?? 200;
  removeRunFolder(out); // a previous run of this example, never a folder that holds anything else
  const { tm, task: full } = await setupRun(
    runConfig({
      model: DEMO_ENCODER,
      task: 'RTE',
      maxLength: 96,
      method: 'dynamic',
      promptLength: 4,
      dynamicPosition: 'instance',
      dynamicLength: 'task',
      poolSize: 2,
      gumbelRate: 1e-3,
      steps,
      evalEvery: Math.min(steps, 25),
    }),
  );
  const task = { ...full, dev: full.dev.slice(0, 16), test: full.test.slice(0, 32) };
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
