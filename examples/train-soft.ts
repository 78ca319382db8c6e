/**
 * Soft prompt tuning (Lester et al.; PEFT PROMPT_TUNING) through the TypeScript API: build a task model
 * on a frozen encoder, train it with `train(...)`, evaluate the best parameters, export a PEFT adapter.
 * Runs from a fresh clone: the demo task (examples/demo/data) and a tiny seeded random encoder.
 *
 *   node --import ./scripts/register.mjs examples/train-soft.ts [steps]
 */
import { join } from 'node:path';
import type { ClassifierParams } from '../prompting/heads.ts';
import { exportPeftAdapter } from '../prompting/peft-adapter.ts';
import { evaluate } from '../training/evaluate.ts';
import { train, type TrainResult } from '../training/loop.ts';
import { demoEncoder, demoSetup } from './demo/encoder.ts';
import { removeRunFolder } from '../training/run-folder.ts';

export interface ExampleOptions {
  readonly steps?: number;
  readonly out?: string;
  /** No progress bar or summary lines. */
  readonly quiet?: boolean;
}

export async function main(o: ExampleOptions = {}): Promise<TrainResult> {
  const out = o.out ?? 'runs/example-soft',
    steps = o.steps ?? 200;
  const say = o.quiet ? () => {} : (l: string) => console.log(l);
  removeRunFolder(out); // a previous run of this example, never a folder that holds anything else
  const enc = demoEncoder(out, { random: true }); // writes <out>.encoder
  const { tm, task } = await demoSetup(enc.folder, {
    method: 'soft',
    promptLength: 4,
    init: 'random',
    steps,
    evalEvery: Math.min(steps, 50),
  });
  const r = await train(tm, task, { out, ...(o.quiet ? { stream: null } : {}) });
  const dev = await evaluate(tm, task, r.best, task.dev);
  say(
    `soft prompt: best dev accuracy ${dev.scores['accuracy']?.toFixed(3)} (step ${r.bestStep}), held-out ${r.test?.['accuracy']?.toFixed(3)}`,
  );
  const adapter = exportPeftAdapter(join(out, 'adapter'), tm.model, tm.method.peft!(r.best['prompt']), {
    baseModelNameOrPath: enc.folder,
    classifier: r.best['head'] as unknown as ClassifierParams,
    ...(tm.pooler ? { pooler: tm.pooler } : {}), // the demo encoder has no pooler: the adapter carries the seeded one
  });
  say(`PEFT ${adapter.peft_type} adapter (${adapter.num_virtual_tokens} tokens) in ${join(out, 'adapter')}`);
  return r;
}

if (import.meta.url === `file://${process.argv[1]}`)
  await main(process.argv[2] ? { steps: Number(process.argv[2]) } : {});
