/**
 * Soft prompt tuning (Lester et al.; PEFT PROMPT_TUNING) through the public API, importing only from
 * 'promptgrad', so the same file runs in a project that installed the package: the bundled demo encoder
 * frozen, the bundled FewGLUE RTE, `train`, the best parameters evaluated, a PEFT adapter exported.
 * The demo encoder is small and weak: RTE stays near chance; the example shows the API, not accuracy.
 *
 *   node --import ./scripts/register.mjs examples/train-soft.ts [steps]     # in a clone of PromptGrad
 *   tsc && node train-soft.js [steps]                                       # in a project that installed it
 */
import { join } from 'node:path';
import { DEMO_ENCODER, evaluate, exportAdapter, removeRunFolder, runConfig, setupRun, train } from 'promptgrad';
import type { TrainResult } from 'promptgrad';

export interface ExampleOptions {
  readonly steps?: number;
  readonly out?: string;
  /** No progress bar or summary lines. */
  readonly quiet?: boolean;
}

export async function main(o: ExampleOptions = {}): Promise<TrainResult> {
  const out = o.out ?? 'runs/example-soft',
    steps = o.steps ?? 100;
  const say = o.quiet ? () => {} : (l: string) => console.log(l);
  removeRunFolder(out); // a previous run of this example, never a folder that holds anything else
  const cfg = runConfig({
    model: DEMO_ENCODER,
    task: 'RTE',
    method: 'soft',
    promptLength: 4,
    lr: 0.02,
    steps,
    evalEvery: Math.min(steps, 25),
    maxLength: 96,
  });
  const { tm, task: full, backendNote } = await setupRun(cfg);
  say(backendNote);
  // A quick example: 16 dev and 32 held-out examples.
  const task = { ...full, dev: full.dev.slice(0, 16), test: full.test.slice(0, 32) };
  const r = await train(tm, task, { out, ...(o.quiet ? { stream: null } : {}) });
  const dev = await evaluate(tm, task, r.best, task.dev);
  say(
    `soft prompt: best dev accuracy ${dev.scores['accuracy']?.toFixed(3)} (step ${r.bestStep}), held-out ${r.test?.['accuracy']?.toFixed(3)}`,
  );
  const adapter = await exportAdapter(tm, task, r.best, join(out, 'adapter'));
  say(`PEFT ${adapter.peft_type} adapter (${adapter.num_virtual_tokens} tokens) in ${join(out, 'adapter')}`);
  return r;
}

if (import.meta.url === `file://${process.argv[1]}`)
  await main(process.argv[2] ? { steps: Number(process.argv[2]) } : {});
