/**
 * Prefix tuning (P-tuning v2 / PEFT PREFIX_TUNING) through the TypeScript API: per-layer key/value
 * prefixes, here reparameterised by a small MLP (`prefixProjection`), trained with `train(...)`.
 * Imports only from 'promptgrad' (the same file runs where the package is installed): the bundled
 * demo encoder frozen, on the bundled FewGLUE RTE (16 dev and 32 held-out examples, to stay quick).
 *
 *   node --import ./scripts/register.mjs examples/train-prefix.ts [steps]
 */
import { DEMO_ENCODER, removeRunFolder, runConfig, setupRun, train, type TrainResult } from 'promptgrad';

/** As in train-soft.ts (each example stands alone: it imports only from 'promptgrad'). */
interface ExampleOptions {
  readonly steps?: number;
  readonly out?: string;
  readonly quiet?: boolean;
}

export async function main(o: ExampleOptions = {}): Promise<TrainResult> {
  const out = o.out ?? 'runs/example-prefix',
    steps = o.steps ?? 200;
  removeRunFolder(out); // a previous run of this example, never a folder that holds anything else
  const { tm, task: full } = await setupRun(
    runConfig({
      model: DEMO_ENCODER,
      task: 'RTE',
      maxLength: 96,
      method: 'prefix',
      promptLength: 4,
      prefixProjection: 16,
      lr: 0.01,
      steps,
      evalEvery: Math.min(steps, 25),
    }),
  );
  const task = { ...full, dev: full.dev.slice(0, 16), test: full.test.slice(0, 32) };
  const r = await train(tm, task, { out, ...(o.quiet ? { stream: null } : {}) });
  if (!o.quiet)
    console.log(
      `prefix (4 tokens × ${tm.model.cfg.numHiddenLayers} layers, MLP 16): best dev accuracy ${r.bestDev.toFixed(3)} at step ${r.bestStep}, held-out ${r.test?.['accuracy']?.toFixed(3)}; run folder ${out}`,
    );
  return r;
}

if (import.meta.url === `file://${process.argv[1]}`)
  await main(process.argv[2] ? { steps: Number(process.argv[2]) } : {});
