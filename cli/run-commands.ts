/** `promptgrad eval | predict | export-peft`: reopen a run folder's config and best parameters. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import * as E from 'fp-ts/lib/Either.js';
import {
  classificationView,
  formatDataError,
  isTaskName,
  parseTask,
  patternView,
  type TaskExample,
  type TaskName,
} from '../data/index.ts';
import { customExample, type Example } from '../training/task-data.ts';
import { evaluate, logitsOf } from '../training/evaluate.ts';
import { loadBestParams, readRunConfig } from '../training/run-load.ts';
import { setupRun, UsageError } from '../training/run-setup.ts';
import { exportPeftAdapter } from '../prompting/peft-adapter.ts';
import type { ClassifierParams } from '../prompting/heads.ts';
import { isMultitask } from '../training/multitask/setup.ts';
import { evalMultitask, exportMultitask, multitaskPredictor, predictionLine } from './multitask-commands.ts';

const SPLITS = { train: 'train', dev32: 'dev', dev: 'dev', val: 'test', test: 'test' } as const;

export function evalCommand(program: Command): void {
  program
    .command('eval')
    .description("evaluate a run's best parameters (by dev metric) on a split of its task")
    .requiredOption('--run <folder>', 'run folder written by `promptgrad train`')
    .option('--split <split>', 'train | dev32 | val', 'val')
    .option('--task <name>', 'multitask runs: evaluate this task only (default: every task and their average)')
    .addHelpText(
      'after',
      '\nExamples:\n  promptgrad eval --run runs/rte-soft\n  promptgrad eval --run runs/rte-soft --split dev32\n  promptgrad eval --run runs/mt-pool --task CB',
    )
    .action(async (o: { run: string; split: string; task?: string }) => {
      const which = (SPLITS as Record<string, 'train' | 'dev' | 'test' | undefined>)[o.split];
      if (!which) throw new UsageError(`--split must be train, dev32 or val, got "${o.split}"`);
      const cfg = readRunConfig(o.run);
      if (isMultitask(cfg)) return evalMultitask(cfg, o.run, which, o.split, o.task);
      refuseOtherTask(cfg.task, o.task);
      const { tm, task } = await setupRun(cfg);
      const { best, step } = await loadBestParams(tm, o.run);
      const { scores } = await evaluate(tm, task, best, task[which]);
      console.log(
        JSON.stringify({ run: o.run, split: o.split, examples: task[which].length, checkpointStep: step, ...scores }),
      );
    });
}

/** Input lines: the task's own record format (FewGLUE; the label may be absent) or {text, text_pair?} for custom. */
export function parsePredictInput(file: string, task: string): readonly Example[] {
  if (!existsSync(file)) throw new UsageError(`--input ${file}: no such file`);
  const text = readFileSync(file, 'utf8');
  if (isTaskName(task)) {
    const t: TaskName = task;
    const dummy = { BoolQ: false, CB: 'neutral', COPA: 0, MultiRC: false, RTE: 'entailment', WiC: false, WSC: false }[
      t
    ];
    const lines = text.split('\n').map((l) => {
      if (l.trim() === '') return l;
      try {
        const v = JSON.parse(l) as Record<string, unknown>;
        return typeof v === 'object' && v !== null && !Array.isArray(v) && !('label' in v) && t !== 'MultiRC'
          ? JSON.stringify({ ...v, label: dummy })
          : l;
      } catch {
        return l;
      }
    });
    const r = parseTask(t, 'val', lines.join('\n'), file);
    if (E.isLeft(r)) throw new UsageError(formatDataError(r.left));
    return r.right.examples.map((e) => ({ ...toExample(e), label: 0 }));
  }
  return text.split('\n').flatMap((l, i) => {
    if (l.trim() === '') return [];
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch (e) {
      throw new UsageError(`${file}:${i + 1}: not JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    const r = v as Record<string, unknown>;
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new UsageError(`${file}:${i + 1}: expected a JSON object`);
    if (typeof r['text'] !== 'string')
      throw new UsageError(
        `${file}:${i + 1}: field "text": expected a string, got ${JSON.stringify(r['text']) ?? 'nothing (field missing)'}`,
      );
    if (r['text_pair'] !== undefined && typeof r['text_pair'] !== 'string')
      throw new UsageError(`${file}:${i + 1}: field "text_pair": expected a string`);
    return [
      customExample({
        text: r['text'],
        ...(typeof r['text_pair'] === 'string' ? { textPair: r['text_pair'] } : {}),
        label: 0,
        line: i + 1,
      }),
    ];
  });
}

const toExample = (e: TaskExample): Example => ({
  view: classificationView(e),
  pattern: patternView(e),
  label: e.label,
});

export function predictCommand(program: Command): void {
  program
    .command('predict')
    .description("label new examples with a run's best parameters; one JSON line out per line in")
    .requiredOption('--run <folder>', 'run folder written by `promptgrad train`')
    .requiredOption(
      '--input <jsonl>',
      'examples in the task\'s JSONL format (label optional); custom tasks: {"text": …, "text_pair"?: …}',
    )
    .requiredOption('--output <jsonl>', 'where to write {"index", "label", "probs"} lines')
    .option('--task <name>', 'multitask runs: the task whose head and prompt label the input (required there)')
    .addHelpText(
      'after',
      '\nExamples:\n  promptgrad predict --run runs/rte-soft --input new.jsonl --output preds.jsonl\n  promptgrad predict --run runs/mt-pool --task CB --input cb.jsonl --output cb-preds.jsonl',
    )
    .action(async (o: { run: string; input: string; output: string; task?: string }) => {
      const cfg = readRunConfig(o.run);
      if (!isMultitask(cfg)) refuseOtherTask(cfg.task, o.task);
      const { tm, task, best } = isMultitask(cfg)
        ? await multitaskPredictor(cfg, o.run, o.task).then((r) => ({ tm: r.tm, task: r.data, best: r.params }))
        : await setupRun(cfg).then(async (s) => ({ ...s, best: (await loadBestParams(s.tm, o.run)).best }));
      const examples = parsePredictInput(o.input, task.name);
      const rows = await logitsOf(tm, best, examples);
      const lines = rows.map((r, index) => predictionLine(index, r, task.labels));
      writeFileSync(o.output, lines.map((l) => `${l}\n`).join(''));
      console.log(`wrote ${lines.length} predictions to ${o.output}`);
    });
}

export function exportPeftCommand(program: Command): void {
  program
    .command('export-peft')
    .description("write a run's best soft prompt / prefix (+ classifier) as a Hugging Face PEFT adapter folder")
    .requiredOption('--run <folder>', 'run folder written by `promptgrad train`')
    .requiredOption('--out <folder>', 'adapter folder (adapter_config.json + adapter_model.safetensors)')
    .addHelpText(
      'after',
      '\nExamples:\n  promptgrad export-peft --run runs/rte-soft --out adapters/rte-soft\n  # then in Python: PeftModel.from_pretrained(base_model, "adapters/rte-soft")',
    )
    .option('--task <name>', 'multitask runs: export this task only (default: every task, into <out>/<task>/)')
    .action(async (o: { run: string; out: string; task?: string }) => {
      const cfg = readRunConfig(o.run);
      if (isMultitask(cfg)) return exportMultitask(cfg, o.run, o.out, o.task);
      refuseOtherTask(cfg.task, o.task);
      const { tm } = await setupRun(cfg);
      if (!tm.method.peft)
        throw new UsageError(`export-peft: method "${cfg.method}" has no PEFT equivalent (soft and prefix do)`);
      const { best } = await loadBestParams(tm, o.run);
      const head = best['head'] as unknown as ClassifierParams | undefined;
      const written = exportPeftAdapter(o.out, tm.model, tm.method.peft(best['prompt']), {
        baseModelNameOrPath: cfg.model,
        ...(head ? { classifier: head } : {}),
        ...(tm.method.promptInit ? { init: tm.method.promptInit } : {}),
        ...(cfg.init === 'text' ? { initText: cfg.initText } : {}),
        saveProjectionWeights: true,
      });
      console.log(
        `wrote ${written.peft_type} adapter (${written.num_virtual_tokens} virtual tokens, task ${written.task_type}) to ${o.out}`,
      );
    });
}

/** A single-task run only answers for its own task. */
function refuseOtherTask(runTask: string, asked: string | undefined): void {
  if (asked !== undefined && asked !== runTask)
    throw new UsageError(`--task ${asked}: this run trained ${runTask} only`);
}
