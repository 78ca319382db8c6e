/** `promptgrad train`: flags ← --config JSON ← defaults, then the training loop. */
import { type Command, Option } from 'commander';
import * as E from 'fp-ts/lib/Either.js';
import { resolve } from 'node:path';
import { train } from '../training/loop.ts';
import { readRunConfig } from '../training/run-load.ts';
import {
  BACKENDS,
  SEGMENT_IDS,
  CHOICE_LEVELS,
  CONFIG_FIELDS,
  DEFAULTS,
  decodePartial,
  HEADS,
  kebab,
  METHODS,
  mergeConfig,
  SCHEDULES,
  SHARES,
  type RunConfig,
} from '../training/run-config.ts';
import { readConfigFile } from '../training/run-config-file.ts';
import { checkRunBounds } from '../training/run-bounds.ts';
import { checkNewRunFolder, checkOverwritable, removeRunFolder, requireResumableRun } from '../training/run-folder.ts';
import { readModelConfig, setupRun, UsageError } from '../training/run-setup.ts';
import { describeShare } from '../training/multitask/sharing.ts';
import { isMultitask, setupMultitaskRun } from '../training/multitask/setup.ts';
import { trainMultitask } from '../training/multitask/train.ts';

const FLAGS: readonly [keyof RunConfig, string, string][] = [
  ['model', '<folder>', 'Hugging Face model folder (config.json, weights, tokenizer files)'],
  [
    'task',
    '<name>',
    'FewGLUE task (BoolQ, CB, COPA, MultiRC, RTE, WiC, WSC; any case) or "custom" (text/text_pair/label JSONL); a comma list (RTE,CB,BoolQ) trains one multitask run ("tasks": [...] in --config)',
  ],
  [
    'data',
    '<folder>',
    'data root: <data>/<Task>/{train,dev32,val}.jsonl, or <data>/{train,dev32,val}.jsonl for custom (default for a FewGLUE task: the FewGLUE copy bundled with PromptGrad)',
  ],
  ['method', '<method>', `prompt method: ${METHODS.join(' | ')}`],
  ['head', '<head>', `${HEADS.join(' | ')} (verbalizer needs an MLM checkpoint)`],
  ['promptLength', '<m>', 'virtual tokens'],
  ['prefixProjection', '<h>', 'prefix: reparameterisation MLP hidden size (0 = none)'],
  ['init', '<how>', 'soft prompt init: random | vocab | text'],
  ['initText', '<text>', 'text for --init text'],
  ['placement', '<where>', 'soft prompt: before-cls | after-cls'],
  [
    'dynamicPosition',
    '<level>',
    `dynamic: where the prompt splits around the text, chosen per ${CHOICE_LEVELS.join(' | ')}`,
  ],
  ['dynamicLength', '<level>', `dynamic: prompt length (masking the rest), chosen per ${CHOICE_LEVELS.join(' | ')}`],
  ['poolSize', '<k>', 'dynamic: prompt pool of k sets mixed per input (0 = no pool)'],
  ['instanceRelu', '<bool>', "dynamic: instance-level choice nets Linear → ReLU (DPT's code) instead of Linear"],
  ['gumbelTauStart', '<x>', 'dynamic: Gumbel-softmax temperature at step 0'],
  ['gumbelTauMin', '<x>', 'dynamic: temperature floor'],
  ['gumbelRate', '<x>', 'dynamic: temperature anneal rate r (τ = max(τ₀·exp(−r·n(n+1)/2), τ_min), n = ⌊step/10⌋)'],
  ['gamma', '<x>', 'infoprompt: weight of L_head (prompt ↔ head MI)'],
  ['beta', '<x>', 'infoprompt: weight of L_rep (prompt ↔ representation MI)'],
  ['klWeight', '<x>', "infoprompt: weight of L_rep's bottleneck KL"],
  ['lossCap', '<x>', "infoprompt: cap each example's task loss (the code: 2; 0 = plain cross-entropy)"],
  [
    'generatorHidden',
    '<h>',
    'infoprompt: generate the prompt per input with an MLP d → h → m·d (the code: 32; 0 = plain prompt, PEFT-exportable)',
  ],
  ['bottleneckDim', '<k>', "infoprompt: L_rep's Gaussian bottleneck size"],
  ['steps', '<n>', 'optimiser steps'],
  ['batchSize', '<n>', 'training batch size'],
  ['evalBatchSize', '<n>', 'evaluation batch size'],
  ['maxLength', '<n>', 'max text tokens per example'],
  ['lr', '<x>', 'AdamW learning rate'],
  ['weightDecay', '<x>', 'AdamW decoupled weight decay (not on biases / LayerNorm)'],
  ['warmupRatio', '<x>', 'fraction of steps with linear warm-up'],
  ['schedule', '<kind>', SCHEDULES.join(' | ')],
  ['clip', '<x>', 'global gradient-norm clip (0 = off)'],
  ['dropout', '<bool>', 'train-mode dropout in encoder and classifier (true | false)'],
  ['evalEvery', '<n>', 'evaluate on dev every n steps'],
  ['checkpointEvery', '<n>', 'checkpoint every n steps (0 = only at the end)'],
  ['seed', '<n>', 'seed of every random choice'],
  ['backend', '<b>', `${BACKENDS.join(' | ')} (wasm: the WebAssembly SIMD fast path on CPU, f32)`],
  ['threads', '<n>', 'wasm backend worker threads (0 = one per core)'],
  ['dtype', '<d>', 'f32 | f64'],
  [
    'weights',
    '<w>',
    'frozen dense weights: f32 | f16 | int8 (int8: 7-bit per-channel codes, integer products on cpu/wasm, and on webgpu where WGSL has dot4I8Packed (else f16/f32, said at start); f32 dtype only)',
  ],
  [
    'segmentIds',
    '<how>',
    `${SEGMENT_IDS.join(' | ')}: token type 1 for a pair's second text, or type 0 throughout (for encoders that never trained type 1)`,
  ],
  [
    'mix',
    '<rule>',
    'multitask: which task each step trains on: proportional (to train-set size) | uniform | temperature:T (∝ size^(1/T))',
  ],
  [
    'share',
    '<what>',
    `multitask: ${SHARES.join(' | ')}: a prompt per task, one prompt for all (task-level dynamic choices stay per task), or dynamic prompting's pool shared`,
  ],
];

export const TRAIN_EXAMPLES = `
Examples:
  promptgrad train --model ./bert-base-uncased --task RTE --data ./fewglue --method soft --prompt-length 20 --out runs/rte-soft
  promptgrad train --model ./roberta-large --task CB --data ./fewglue --method prefix --prefix-projection 512 --lr 5e-3 --out runs/cb-prefix
  promptgrad train --model ./bert-base-uncased --task RTE --data ./fewglue --method dynamic --dynamic-position instance --dynamic-length task --pool-size 4 --out runs/rte-dyn
  promptgrad train --model ./roberta-base --task RTE --data ./fewglue --method infoprompt --gamma 0.1 --beta 0.2 --loss-cap 2 --lr 1e-3 --out runs/rte-info
  promptgrad train --model ./bert-base-uncased --task RTE,CB,BoolQ --data ./fewglue --method dynamic --pool-size 4 --share pool --mix uniform --out runs/mt-pool
  promptgrad train --config my-run.json --seed 13 --out runs/seed13      # flags override the JSON config
  promptgrad train --out runs/rte-soft --resume                          # continue an interrupted run exactly`;

export function trainCommand(program: Command): void {
  const cmd = program
    .command('train')
    .description('train a prompt (and head) on a frozen encoder; writes metrics, plot, config and checkpoints to --out')
    .requiredOption('--out <folder>', 'run folder')
    .option('--config <json>', 'JSON file with any of the options below (camelCase keys); flags override it')
    .option('--resume', 'continue the run in --out from its checkpoint (its config.json is used)')
    .option(
      '--overwrite',
      'replace the run already in --out (only a folder PromptGrad wrote; any other folder is refused)',
    );
  for (const [field, arg, help] of FLAGS) {
    const d = (DEFAULTS as Record<string, unknown>)[field];
    cmd.addOption(
      new Option(`${kebab(field)} ${arg}`, d === undefined ? help : `${help} (default ${JSON.stringify(d)})`),
    );
  }
  cmd.addHelpText('after', TRAIN_EXAMPLES).action(async (o: Record<string, unknown>) => {
    const out = String(o['out']);
    const flags = Object.fromEntries(CONFIG_FIELDS.filter((f) => o[f] !== undefined).map((f) => [f, o[f]]));
    const fromFlags = decodePartial(flags, 'command line', kebab);
    if (E.isLeft(fromFlags)) throw new UsageError(fromFlags.left.message.replace('field "', 'option "'));
    let cfg: RunConfig;
    const overwrite = o['overwrite'] === true;
    if (o['resume']) {
      if (overwrite) throw new UsageError('--overwrite starts a new run in --out; it cannot go with --resume');
      requireResumableRun(out);
      const saved = readRunConfig(out, '--out');
      // The saved config is continued exactly, except: more --steps extends the run (the learning-rate
      // schedule is recomputed for the new total from the step reached), and --backend / --threads say
      // where it runs (checkpoints hold plain values, so any backend resumes any run).
      const { steps, backend, threads, ...changed } = fromFlags.right;
      if (Object.keys(changed).length > 0)
        throw new UsageError(
          `--resume continues the saved config exactly (only --steps, --backend and --threads may change); drop ${Object.keys(changed).map(kebab).join(', ')}`,
        );
      if (steps !== undefined && steps < saved.steps)
        throw new UsageError(
          `--steps ${steps} with --resume: the run is set for ${saved.steps} steps; give more to extend it`,
        );
      cfg = {
        ...saved,
        ...(steps !== undefined ? { steps } : {}),
        ...(backend !== undefined ? { backend } : {}),
        ...(threads !== undefined ? { threads } : {}),
      };
      // A resumed run is bounded like a new one: --threads may change here, and config.json may have been edited.
      checkRunBounds(cfg, await readModelConfig(cfg.model));
    } else {
      const file = typeof o['config'] === 'string' ? readConfigFile(o['config']) : E.right({});
      if (E.isLeft(file)) throw new UsageError(file.left.message);
      const merged = mergeConfig([file.right, fromFlags.right], 'command line');
      if (E.isLeft(merged))
        throw new UsageError(merged.left.message.replace(/field "(\w+)"/, (_m, f: string) => `option "${kebab(f)}"`));
      cfg = { ...merged.right, model: resolve(merged.right.model), data: resolve(merged.right.data) };
      // Refuse before loading anything: sizes the model or machine cannot hold, a folder that is not ours.
      checkRunBounds(cfg, await readModelConfig(cfg.model));
      if (overwrite) checkOverwritable(out);
      else checkNewRunFolder(out);
    }
    if (isMultitask(cfg)) return trainMultitaskCommand(cfg, out, o['resume'] === true, overwrite);
    const { tm, task, backendNote, weights } = await setupRun(cfg);
    // The old run goes only now, once the new run's model and data have loaded.
    if (overwrite) removeRunFolder(out);
    console.log(
      `promptgrad train: ${cfg.method} prompt, ${cfg.head} head, ${task.name} (${task.train.length} train / ${task.dev.length} dev / ${task.test.length} test), ${backendNote}, ${cfg.dtype}${weights === 'f32' ? '' : `, ${weights} weights`}`,
    );
    // Ctrl-C / SIGTERM: finish the current step, write a checkpoint, exit 130 (a second signal kills at once).
    const stop = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      console.log(`\n${sig}: finishing the current step and writing a checkpoint (again to quit at once)`);
      stop.abort();
    };
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    let r;
    try {
      r = await train(tm, task, { out, resume: o['resume'] === true, signal: stop.signal });
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    }
    if (r.interrupted) {
      console.log(
        `interrupted after step ${r.steps}; checkpoint written. Continue with: promptgrad train --out ${out} --resume`,
      );
      process.exitCode = 130;
      return;
    }
    console.log(
      `done: ${r.steps} steps, best dev ${task.metrics.main} ${r.bestDev.toFixed(4)} at step ${r.bestStep}${
        r.test
          ? `, test ${Object.entries(r.test)
              .map(([k, v]) => `${k} ${v?.toFixed(4)}`)
              .join(', ')}`
          : ''
      }; run folder ${out}`,
    );
  });
}

async function trainMultitaskCommand(cfg: RunConfig, out: string, resume: boolean, overwrite: boolean): Promise<void> {
  const { mt, backendNote } = await setupMultitaskRun(cfg);
  if (overwrite) removeRunFolder(out);
  const sizes = mt.tasks.map((t) => `${t.name} ${t.data.train.length}/${t.data.dev.length}/${t.data.test.length}`);
  console.log(
    `promptgrad train: multitask ${cfg.method} prompt (${describeShare(cfg.share)}), ${cfg.head} heads, mix ${cfg.mix}; ${sizes.join(', ')} train/dev/test; ${backendNote}, ${cfg.dtype}`,
  );
  const r = await trainMultitask(mt, { out, resume });
  const test = r.test
    ? `, test ${Object.entries(r.test)
        .map(
          ([n, s]) =>
            `${n} ${Object.entries(s)
              .map(([k, v]) => `${k} ${v?.toFixed(4)}`)
              .join(' ')}`,
        )
        .join('; ')}; test average ${r.testAverage?.toFixed(4)}`
    : '';
  console.log(
    `done: ${r.steps} steps (draws ${mt.tasks.map((t, i) => `${t.name} ${r.draws[i]}`).join(', ')}), best dev average ${r.bestDev.toFixed(4)} at step ${r.bestStep}${test}; run folder ${out}`,
  );
}
