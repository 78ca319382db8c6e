/** `promptgrad eval | predict`: reopen a run folder's config and best parameters, or run a PEFT adapter (peft-commands.ts). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import * as E from 'fp-ts/lib/Either.js';
import {
  classificationView,
  decodeUtf8Strict,
  formatDataError,
  isTaskName,
  parseTask,
  patternView,
  type TaskExample,
  type TaskName,
} from '../data/index.ts';
import { customExample, type Example } from '../training/task-data.ts';
import { writeFileAtomic } from '../training/atomic-file.ts';
import { fsError } from '../training/fs-error.ts';
import { evaluate, logitsOf } from '../training/evaluate.ts';
import { loadBestParams, readRunConfig } from '../training/run-load.ts';
import { setupRun, UsageError } from '../training/run-setup.ts';
import { isMultitask } from '../training/multitask/setup.ts';
import { evalMultitask, multitaskPredictor, predictionLine, refuseOtherTask } from './multitask-commands.ts';
import { adapterPathChosen, addAdapterOptions, setupAdapterRun, type AdapterPathOptions } from './peft-commands.ts';

const SPLITS = { train: 'train', dev32: 'dev', dev: 'dev', val: 'test', test: 'test' } as const;

export function evalCommand(program: Command): void {
  const cmd = program
    .command('eval')
    .description("evaluate a run's best parameters (by dev metric), or a PEFT adapter, on a split of the task")
    .option('--run <folder>', 'run folder written by `promptgrad train`')
    .option('--split <split>', 'train | dev32 | val', 'val');
  addAdapterOptions(cmd)
    .addHelpText(
      'after',
      '\nExamples:\n  promptgrad eval --run runs/rte-soft\n  promptgrad eval --run runs/rte-soft --split dev32\n  promptgrad eval --run runs/mt-pool --task CB     # a multitask run: one task (default: every task and their average)\n  promptgrad eval --model ./bert-base-uncased --adapter ./my-peft-adapter --task RTE --data ./fewglue',
    )
    .action(async (o: AdapterPathOptions & { run?: string; split: string }) => {
      const which = (SPLITS as Record<string, 'train' | 'dev' | 'test' | undefined>)[o.split];
      if (!which) throw new UsageError(`--split must be train, dev32 or val, got "${o.split}"`);
      if (adapterPathChosen(o, 'eval')) {
        const a = await setupAdapterRun(o);
        const { scores } = await evaluate(a.tm, a.task, a.params, a.task[which]);
        console.log(JSON.stringify({ adapter: o.adapter, split: o.split, examples: a.task[which].length, ...scores }));
        return;
      }
      const run = o.run!;
      const cfg = readRunConfig(run);
      if (isMultitask(cfg)) return evalMultitask(cfg, run, which, o.split, o.task);
      refuseOtherTask(cfg.task, o.task);
      const { tm, task } = await setupRun(cfg);
      const { best, step } = await loadBestParams(tm, run);
      const { scores } = await evaluate(tm, task, best, task[which]);
      console.log(
        JSON.stringify({ run, split: o.split, examples: task[which].length, checkpointStep: step, ...scores }),
      );
    });
}

/** Input lines: the task's own record format (FewGLUE; the label may be absent) or {text, text_pair?} for custom. */
export function parsePredictInput(file: string, task: string): readonly Example[] {
  if (!existsSync(file)) throw new UsageError(`--input ${file}: no such file`);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw fsError(e, file, 'read');
  }
  const decoded = decodeUtf8Strict(bytes, file);
  if (E.isLeft(decoded)) throw new UsageError(`--input ${formatDataError(decoded.left)}`);
  const text = decoded.right;
  if (isTaskName(task)) {
    const t: TaskName = task;
    const dummy = { BoolQ: false, CB: 'neutral', COPA: 0, MultiRC: false, RTE: 'entailment', WiC: false, WSC: false }[
      t
    ];
    // New examples carry neither a label nor FewGLUE's `idx`: fill both (the line number as idx) so the
    // task's own parser reads them; a line that has them keeps its own.
    const lines = text.split('\n').map((l, i) => {
      if (l.trim() === '') return l;
      try {
        const v = JSON.parse(l) as Record<string, unknown>;
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return l;
        const withIdx = 'idx' in v ? v : { ...v, idx: i };
        return !('label' in withIdx) && t !== 'MultiRC'
          ? JSON.stringify({ ...withIdx, label: dummy })
          : JSON.stringify(withIdx);
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
  const cmd = program
    .command('predict')
    .description("label new examples with a run's best parameters, or a PEFT adapter; one JSON line out per line in")
    .option('--run <folder>', 'run folder written by `promptgrad train`')
    .requiredOption(
      '--input <jsonl>',
      'examples in the task\'s JSONL format (label optional); custom tasks: {"text": …, "text_pair"?: …}',
    )
    .option('--output <jsonl>', 'where to write {"index", "label", "probs"} lines (default: standard output)');
  addAdapterOptions(cmd)
    .addHelpText(
      'after',
      '\nExamples:\n  promptgrad predict --run runs/rte-soft --input new.jsonl --output preds.jsonl\n  promptgrad predict --run runs/rte-soft --input new.jsonl | head -3   # no --output: JSON lines on stdout (records need no idx)\n  promptgrad predict --run runs/mt-pool --task CB --input cb.jsonl --output cb-preds.jsonl   # a multitask run: --task required\n  promptgrad predict --model ./bert-base-uncased --adapter ./my-peft-adapter --task RTE --data ./fewglue --input new.jsonl --output preds.jsonl',
    )
    .action(async (o: AdapterPathOptions & { run?: string; input: string; output?: string }) => {
      if (o.output !== undefined && sameFile(o.input, o.output))
        throw new UsageError(`--output ${o.output} is the --input file; write the predictions to another file`);
      let rows: number[][], task: { readonly labels: readonly string[] };
      if (adapterPathChosen(o, 'predict')) {
        const a = await setupAdapterRun(o);
        const examples = parsePredictInput(o.input, a.tm.cfg.task);
        rows = await logitsOf(a.tm, a.params, examples);
        task = a.task;
      } else {
        const cfg = readRunConfig(o.run!);
        if (!isMultitask(cfg)) refuseOtherTask(cfg.task, o.task);
        const s = isMultitask(cfg)
          ? await multitaskPredictor(cfg, o.run!, o.task).then((r) => ({ tm: r.tm, task: r.data, best: r.params }))
          : await setupRun(cfg).then(async (x) => ({ ...x, best: (await loadBestParams(x.tm, o.run!)).best }));
        const examples = parsePredictInput(o.input, s.task.name);
        rows = await logitsOf(s.tm, s.best, examples);
        task = s.task;
      }
      const lines = rows.map((r, index) => predictionLine(index, r, task.labels));
      if (o.output === undefined) {
        // Predictions alone on standard output (pipe them on); the count goes to standard error.
        for (const l of lines) console.log(l);
        console.error(`${lines.length} predictions`);
      } else {
        writeFileAtomic(o.output, lines.map((l) => `${l}\n`).join(''));
        console.log(`wrote ${lines.length} predictions to ${o.output}`);
      }
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
