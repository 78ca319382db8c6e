/** `promptgrad eval | predict | export-peft`: reopen a run folder's config and best parameters. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
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
import { writeFileAtomic } from '../training/atomic-file.ts';
import { evaluate, logitsOf } from '../training/evaluate.ts';
import { loadBestParams, readRunConfig } from '../training/run-load.ts';
import { setupRun, UsageError } from '../training/run-setup.ts';
import { exportPeftAdapter } from '../prompting/peft-adapter.ts';
import type { ClassifierParams } from '../prompting/heads.ts';

const SPLITS = { train: 'train', dev32: 'dev', dev: 'dev', val: 'test', test: 'test' } as const;

export function evalCommand(program: Command): void {
  program
    .command('eval')
    .description("evaluate a run's best parameters (by dev metric) on a split of its task")
    .requiredOption('--run <folder>', 'run folder written by `promptgrad train`')
    .option('--split <split>', 'train | dev32 | val', 'val')
    .addHelpText(
      'after',
      '\nExamples:\n  promptgrad eval --run runs/rte-soft\n  promptgrad eval --run runs/rte-soft --split dev32',
    )
    .action(async (o: { run: string; split: string }) => {
      const which = (SPLITS as Record<string, 'train' | 'dev' | 'test' | undefined>)[o.split];
      if (!which) throw new UsageError(`--split must be train, dev32 or val, got "${o.split}"`);
      const { tm, task } = await setupRun(readRunConfig(o.run));
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
    .addHelpText(
      'after',
      '\nExamples:\n  promptgrad predict --run runs/rte-soft --input new.jsonl --output preds.jsonl',
    )
    .action(async (o: { run: string; input: string; output: string }) => {
      if (sameFile(o.input, o.output))
        throw new UsageError(`--output ${o.output} is the --input file; write the predictions to another file`);
      const cfg = readRunConfig(o.run);
      const examples = parsePredictInput(o.input, cfg.task);
      const { tm, task } = await setupRun(cfg);
      const { best } = await loadBestParams(tm, o.run);
      const rows = await logitsOf(tm, best, examples);
      const lines = rows.map((r, index) => {
        const mx = Math.max(...r),
          ex = r.map((x) => Math.exp(x - mx)),
          z = ex.reduce((a, b) => a + b, 0);
        const probs = ex.map((x) => x / z);
        const c = probs.indexOf(Math.max(...probs));
        return JSON.stringify({
          index,
          label: task.labels[c],
          probs: Object.fromEntries(task.labels.map((l, k) => [l, probs[k]])),
        });
      });
      writeFileAtomic(o.output, lines.map((l) => `${l}\n`).join(''));
      console.log(`wrote ${lines.length} predictions to ${o.output}`);
    });
}

/** Whether two paths name one file (the same inode: symbolic and hard links included). */
function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a),
      sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return resolve(a) === resolve(b); // one of them does not exist yet
  }
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
    .action(async (o: { run: string; out: string }) => {
      const cfg = readRunConfig(o.run);
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
