/**
 * `npm run demo` (node --import ./scripts/register.mjs examples/demo/run-demo.ts [out-folder] [--random-encoder] [--backend cpu|wasm]):
 * the whole pipeline in about 20 s on a 2-core CPU, with nothing to download. Trains a 4-token
 * soft prompt + classifier head on a frozen encoder for a toy task (which weather cue word does a
 * sentence contain? 480 train / 48 dev / 240 held-out, committed in ./data) and reports held-out accuracy.
 *
 * The encoder is PromptGrad's own small pretrained one in `models/demo-encoder/`, or with --random-encoder
 * a tiny seeded random BERT (2 layers, 32 wide, never pretrained) built on the spot; the demo says which.
 * It runs on the WebAssembly SIMD backend (`--backend cpu` for the TypeScript reference: ~15× slower).
 * The task is synthetic: the demo shows the plumbing and the optimisation (the loss falls, held-out
 * accuracy climbs well above the 33 % chance level), not language understanding.
 * Environment: DEMO_STEPS (default 500), DEMO_LR (default 0.08), DEMO_SEED (random-encoder seed, default 0),
 * DEMO_TRAIN_SEED (the training run's seed), DEMO_WEIGHTS (f32 | f16 | int8 frozen dense weights, default f32).
 */
import type { DurableWriter } from '../../training/atomic-dir.ts';
import { WEIGHT_STORAGES, type WeightStorage } from '../../models/bert/modules.ts';
import type { ProgressStream } from '../../training/progress.ts';
import { train, type TrainResult } from '../../training/loop.ts';
import { demoEncoder, demoSetup, DEMO_TRAIN } from './encoder.ts';
import { removeRunFolder } from '../../training/run-folder.ts';

export { demoWords, writeTinyRandomBert } from './encoder.ts';

export interface DemoOptions {
  readonly out: string;
  readonly steps?: number;
  readonly lr?: number;
  readonly seed?: number;
  /** Use the random encoder even when models/demo-encoder/ exists. */
  readonly randomEncoder?: boolean;
  /** Default wasm (the SIMD fast path); cpu is the TypeScript reference. */
  readonly backend?: 'cpu' | 'wasm';
  /** Frozen dense-weight storage (default f32; int8: core/tensor/int8.ts). */
  readonly weights?: WeightStorage;
  /** The training run's seed (prompt init, batch order); default the demo config's. */
  readonly trainSeed?: number;
  /** Progress output; `null` = silent. */
  readonly stream?: ProgressStream | null;
  readonly say?: (line: string) => void;
  /** Writes the random encoder's files (default fsyncWriter; failure tests inject one). */
  readonly writer?: DurableWriter;
}

export interface DemoResult {
  readonly encoder: 'pretrained' | 'random';
  readonly result: TrainResult;
  readonly firstLoss: number;
  readonly lastLoss: number;
  readonly heldOut: number;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const say = o.say ?? ((l: string) => console.log(l));
  removeRunFolder(o.out); // a previous demo run, never a folder that holds anything else
  const enc = await demoEncoder(o.out, {
    ...(o.randomEncoder ? { random: true } : {}),
    seed: o.seed ?? 0,
    ...(o.writer ? { writer: o.writer } : {}),
  });
  say(
    enc.kind === 'random'
      ? "PromptGrad demo: a TINY RANDOM encoder (2 layers, 32 wide, never pretrained) on a SYNTHETIC toy task.\nIt shows the plumbing and the optimisation (loss falls, held-out accuracy rises), not language understanding.\n(without --random-encoder the demo uses PromptGrad's own small pretrained encoder in models/demo-encoder/)\n"
      : `PromptGrad demo: PromptGrad's own small pretrained encoder (models/demo-encoder/) on a SYNTHETIC toy task.\n(--random-encoder uses a tiny random one instead)\n`,
  );
  const { tm, task, backendNote } = await demoSetup(enc.folder, {
    method: 'soft',
    steps: o.steps ?? 500,
    lr: o.lr ?? DEMO_TRAIN.lr!,
    backend: o.backend ?? 'wasm',
    weights: o.weights ?? 'f32',
    ...(o.trainSeed !== undefined ? { seed: o.trainSeed } : {}),
  });
  say(`encoder: ${enc.note}`);
  say(`backend: ${backendNote}`);
  say(
    `task: ${task.labels.join(' / ')} by cue word; ${task.train.length} train, ${task.dev.length} dev, ${task.test.length} held-out test examples`,
  );
  say(
    `training a ${tm.cfg.promptLength}-token soft prompt + classifier head (encoder frozen), ${tm.cfg.steps} steps of ${tm.cfg.batchSize}\n`,
  );
  const result = await train(tm, task, {
    out: o.out,
    ...(o.stream !== undefined ? { stream: o.stream } : {}),
    configExtra: { encoder: enc.kind },
  });
  const trainLoss = result.records.filter((x) => x.split === 'train').map((x) => x.loss as number);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const firstLoss = avg(trainLoss.slice(0, 10)),
    lastLoss = avg(trainLoss.slice(-10)),
    heldOut = result.test?.['accuracy'] ?? NaN;
  say(
    `\ntrain loss: first 10 steps ${firstLoss.toFixed(3)} → last 10 steps ${lastLoss.toFixed(3)} (chance: ln 3 = ${Math.log(3).toFixed(3)})`,
  );
  say(
    `held-out accuracy (best dev checkpoint, step ${result.bestStep}): ${(heldOut * 100).toFixed(1)}% on ${task.test.length} examples (chance 33.3%)`,
  );
  return { encoder: enc.kind, result, firstLoss, lastLoss, heldOut };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const args = process.argv.slice(2);
  const env = (k: string): number | undefined => (process.env[k] === undefined ? undefined : Number(process.env[k]));
  const steps = env('DEMO_STEPS'),
    lr = env('DEMO_LR'),
    seed = env('DEMO_SEED'),
    trainSeed = env('DEMO_TRAIN_SEED');
  const weights = WEIGHT_STORAGES.find((w) => w === (process.env['DEMO_WEIGHTS'] ?? 'f32'));
  if (!weights) throw new Error(`DEMO_WEIGHTS: ${WEIGHT_STORAGES.join(' | ')}, got ${process.env['DEMO_WEIGHTS']}`);
  const b = args.indexOf('--backend'),
    backend = b >= 0 ? args[b + 1] : 'wasm';
  if (backend !== 'cpu' && backend !== 'wasm') throw new Error(`--backend: cpu | wasm, got ${JSON.stringify(backend)}`);
  const out = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--backend') ?? 'runs/demo';
  const r = await runDemo({
    out,
    backend,
    randomEncoder: args.includes('--random-encoder'),
    ...(steps ? { steps } : {}),
    ...(lr ? { lr } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(trainSeed !== undefined ? { trainSeed } : {}),
    weights,
  });
  console.log(
    `run folder ${out}: metrics.jsonl, curve.svg, config.json, results.json, checkpoint/ — try \`promptgrad eval --run ${out}\``,
  );
  console.log(
    `done in ${((performance.now() - t0) / 1000).toFixed(1)} s.${r.encoder === 'random' ? ' Reminder: tiny random encoder, synthetic toy task.' : ' Reminder: synthetic toy task.'}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
