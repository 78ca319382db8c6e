/**
 * InfoPrompt (docs/methods.md §4) through the TypeScript API: a soft prompt trained with the task loss plus
 * γ·L_head + β·L_rep + klWeight·KL (mutual-information terms between the prompt and the head / the
 * encoder's output); each term is logged in metrics.jsonl (`lossTask`, `lossHead`, `lossRep`, `lossKl`).
 * With a plain prompt (no generator) the trained model is a soft prompt + head, so it exports as a PEFT
 * PROMPT_TUNING adapter. Runs from a fresh clone: the demo task and a tiny seeded random encoder.
 *
 *   node --import ./scripts/register.mjs examples/train-infoprompt.ts [steps]
 */
import { join } from 'node:path';
import type { ClassifierParams } from '../prompting/heads.ts';
import { exportPeftAdapter } from '../prompting/peft-adapter.ts';
import { train, type TrainResult } from '../training/loop.ts';
import { demoEncoder, demoSetup } from './demo/encoder.ts';
import type { ExampleOptions } from './train-soft.ts';
import { removeRunFolder } from '../training/run-folder.ts';

export async function main(o: ExampleOptions = {}): Promise<TrainResult> {
  const out = o.out ?? 'runs/example-infoprompt',
    steps = o.steps ?? 200;
  removeRunFolder(out); // a previous run of this example, never a folder that holds anything else
  const enc = demoEncoder(out, { random: true });
  const { tm, task } = await demoSetup(enc.folder, {
    method: 'infoprompt',
    promptLength: 4,
    gamma: 0.1,
    beta: 0.2,
    klWeight: 0.1,
    lossCap: 2,
    bottleneckDim: 16,
    steps,
    evalEvery: Math.min(steps, 50),
  });
  const r = await train(tm, task, { out, ...(o.quiet ? { stream: null } : {}) });
  const adapter = join(out, 'adapter');
  exportPeftAdapter(adapter, tm.model, tm.method.peft!(r.best['prompt']), {
    baseModelNameOrPath: enc.folder,
    classifier: r.best['head'] as unknown as ClassifierParams,
    ...(tm.pooler ? { pooler: tm.pooler } : {}), // the demo encoder has no pooler: the adapter carries the seeded one
  });
  if (!o.quiet) {
    const last = r.records.filter((x) => x.split === 'train').slice(-1)[0]!;
    const f = (k: string) => Number(last[k]).toFixed(3);
    console.log(
      `infoprompt: best dev accuracy ${r.bestDev.toFixed(3)} at step ${r.bestStep}, held-out ${r.test?.['accuracy']?.toFixed(3)}`,
    );
    console.log(
      `last step: loss ${f('loss')} = task ${f('lossTask')} + 0.1·head ${f('lossHead')} + 0.2·rep ${f('lossRep')} + 0.1·kl ${f('lossKl')}; PEFT adapter in ${adapter}`,
    );
  }
  return r;
}

if (import.meta.url === `file://${process.argv[1]}`)
  await main(process.argv[2] ? { steps: Number(process.argv[2]) } : {});
