/**
 * InfoPrompt (docs/methods.md §4) through the TypeScript API: a soft prompt trained with the task loss plus
 * γ·L_head + β·L_rep + klWeight·KL (mutual-information terms between the prompt and the head / the
 * encoder's output); each term is logged in metrics.jsonl (`lossTask`, `lossHead`, `lossRep`, `lossKl`).
 * With a plain prompt (no generator) the trained model is a soft prompt + head, so it exports as a PEFT
 * PROMPT_TUNING adapter. Imports only from 'promptgrad' (the same file runs where the package is installed): the bundled
 * demo encoder frozen, on the bundled FewGLUE RTE (16 dev and 32 held-out examples, to stay quick).
 *
 *   node --import ./scripts/register.mjs examples/train-infoprompt.ts [steps]
 */
import { join } from 'node:path';
import { DEMO_ENCODER, exportAdapter, removeRunFolder, runConfig, setupRun, train, type TrainResult } from 'promptgrad';

/** As in train-soft.ts (each example stands alone: it imports only from 'promptgrad'). */
interface ExampleOptions {
  readonly steps?: number;
  readonly out?: string;
  readonly quiet?: boolean;
}

export async function main(o: ExampleOptions = {}): Promise<TrainResult> {
  const out = o.out ?? 'runs/example-infoprompt',
    steps = o.steps ?? 200;
  removeRunFolder(out); // a previous run of this example, never a folder that holds anything else
  const { tm, task: full } = await setupRun(
    runConfig({
      model: DEMO_ENCODER,
      task: 'RTE',
      maxLength: 96,
      method: 'infoprompt',
      promptLength: 4,
      gamma: 0.1,
      beta: 0.2,
      klWeight: 0.1,
      lossCap: 2,
      bottleneckDim: 16,
      steps,
      evalEvery: Math.min(steps, 25),
    }),
  );
  const task = { ...full, dev: full.dev.slice(0, 16), test: full.test.slice(0, 32) };
  const r = await train(tm, task, { out, ...(o.quiet ? { stream: null } : {}) });
  const adapter = join(out, 'adapter');
  await exportAdapter(tm, task, r.best, adapter);
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
