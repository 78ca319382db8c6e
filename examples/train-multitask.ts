/**
 * Multitask prompt tuning through the TypeScript API: one run over FewGLUE RTE and CB (bundled) on the
 * pretrained demo encoder (models/demo-encoder), one prompt shared by both tasks and a classifier head
 * per task (RTE's two labels, CB's three), steps drawn from the tasks by the mixing rule. Then each
 * task's best parameters are evaluated on its dev split and exported as that task's PEFT adapter.
 *
 *   node --import ./scripts/register.mjs examples/train-multitask.ts [steps]
 */
import { join } from 'node:path';
import {
  buildMultitaskModel,
  DEMO_ENCODER,
  evaluate,
  exportAdapter,
  removeRunFolder,
  runConfig,
  setupMultitaskRun,
  trainMultitask,
  type MultitaskTrainResult,
} from 'promptgrad';

/** As in train-soft.ts (each example stands alone: it imports only from 'promptgrad'). */
interface ExampleOptions {
  readonly steps?: number;
  readonly out?: string;
  readonly quiet?: boolean;
}

export async function main(o: ExampleOptions = {}): Promise<MultitaskTrainResult> {
  const out = o.out ?? 'runs/example-multitask',
    steps = o.steps ?? 60;
  const say = o.quiet ? () => {} : (l: string) => console.log(l);
  removeRunFolder(out); // a previous run of this example, never a folder that holds anything else
  const cfg = runConfig({
    model: DEMO_ENCODER,
    task: 'RTE,CB', // the bundled FewGLUE copies (no --data needed)
    share: 'prompt', // one prompt for both tasks; 'none' = one per task
    mix: 'proportional',
    method: 'soft',
    promptLength: 8,
    lr: 0.02,
    steps,
    evalEvery: Math.min(steps, 20),
    maxLength: 96,
    backend: 'wasm',
    threads: 1,
  });
  const { mt: full } = await setupMultitaskRun(cfg);
  // A quick example: 16 dev and 32 held-out examples per task.
  const mt = buildMultitaskModel(
    full.model,
    full.tokenizer,
    full.tasks.map((t) => ({ ...t.data, dev: t.data.dev.slice(0, 16), test: t.data.test.slice(0, 32) })),
    cfg,
  );
  const r = await trainMultitask(mt, { out, ...(o.quiet ? { stream: null } : {}) });
  for (const [i, t] of mt.tasks.entries()) {
    const params = mt.paramsFor(r.best, i); // the task's single-task view: shared prompt + its head
    const dev = await evaluate(t.tm, t.data, params, t.data.dev);
    say(
      `${t.name}: ${r.draws[i]} steps, dev ${JSON.stringify(dev.scores)}, held-out ${JSON.stringify(r.test?.[t.name])}`,
    );
    const dir = join(out, 'adapters', t.name);
    await exportAdapter(t.tm, t.data, params, dir);
    say(`${t.name}: PEFT adapter in ${dir}`);
  }
  return r;
}

if (import.meta.url === `file://${process.argv[1]}`)
  await main(process.argv[2] ? { steps: Number(process.argv[2]) } : {});
