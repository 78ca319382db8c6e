/**
 * `promptgrad eval | predict`: score a run folder's best parameters, or a PEFT adapter (run-source.ts),
 * on a split of the task, or label new examples (a JSONL file, or texts on the command line).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { writeFileAtomic } from '../training/atomic-file.ts';
import { evaluate, logitsOf } from '../training/evaluate.ts';
import { mainAverage } from '../training/multitask/report.ts';
import { UsageError } from '../training/usage-error.ts';
import { predictionLine } from './multitask-commands.ts';
import { parsePredictInput, textExamples } from './predict-input.ts';
import { addSourceOptions, openSource, type ScoringSource, type SourceOptions } from './run-source.ts';
import { formatTable } from './table.ts';

/** --split names (the data files' names) → the task's splits; `test` is another name of val, the held-out split. */
const SPLITS = { train: 'train', dev32: 'dev', val: 'test', test: 'test' } as const;
type SplitName = keyof typeof SPLITS;

const EVAL_EXAMPLES = `
Examples:
  promptgrad eval --run runs/rte-soft                       # a table: task, split, examples, metrics
  promptgrad eval --run runs/rte-soft --split dev32 --json  # one JSON line per task
  promptgrad eval --run runs/rte-soft --backend wasm --batch-size 64
  promptgrad eval --run runs/mt-pool --task CB     # a multitask run: one task (default: every task and their average)
  promptgrad eval --model ./bert-base-uncased --adapter ./my-peft-adapter --task RTE --data ./fewglue`;

export function evalCommand(program: Command): void {
  // --run and the adapter path's options first: they say what is scored.
  const cmd = addSourceOptions(
    program
      .command('eval')
      .description("evaluate a run's best parameters (by dev metric), or a PEFT adapter, on a split of the task"),
  )
    .addOption(
      new Option(
        '--split <split>',
        'which split: train.jsonl, dev32.jsonl or val.jsonl (test: val, the held-out split)',
      )
        .choices(Object.keys(SPLITS))
        .default('val'),
    )
    .option('--json', 'print one JSON line per task (and one for the average of a multitask run) instead of a table');
  cmd.addHelpText('after', EVAL_EXAMPLES).action(async (o: SourceOptions & { split: SplitName; json?: boolean }) => {
    const source = await openSource(o, 'eval');
    const split = SPLITS[o.split];
    const rows: { name: string; examples: number; scores: Readonly<Record<string, number | undefined>> }[] = [];
    for (const { tm, task, params } of source.tasks) {
      if (task[split].length === 0)
        throw new UsageError(`--split ${o.split}: task ${task.name} has no examples in ${o.split}`);
      const { scores } = await evaluate(tm, task, params, task[split]);
      rows.push({ name: task.name, examples: task[split].length, scores });
    }
    const average =
      rows.length > 1
        ? mainAverage(
            rows.map((r) => r.scores),
            source.tasks.map((t) => t.task.metrics.main),
          )
        : undefined;
    if (o.json) printEvalJson(source, o.split, rows, average);
    else printEvalTable(source, o.split, rows, average);
  });
}

type EvalRow = { name: string; examples: number; scores: Readonly<Record<string, number | undefined>> };

/** One line per task (`checkpointStep`: the step whose parameters were scored), then the multitask average. */
function printEvalJson(source: ScoringSource, split: string, rows: readonly EvalRow[], average: number | undefined) {
  const steps = source.steps
    ? { checkpointStep: source.steps.scored, trainedSteps: source.steps.trained, chosenByDev: source.steps.byDev }
    : {};
  for (const r of rows)
    console.log(JSON.stringify({ ...source.from, task: r.name, split, examples: r.examples, ...steps, ...r.scores }));
  if (average !== undefined)
    console.log(JSON.stringify({ ...source.from, task: 'average', split, ...steps, mainAverage: average }));
}

function printEvalTable(source: ScoringSource, split: string, rows: readonly EvalRow[], average: number | undefined) {
  const s = source.steps;
  const which =
    'run' in source.from
      ? `run ${source.from.run}: parameters of step ${s!.scored} ${s!.byDev ? `(the best on dev, of ${s!.trained} trained)` : `(the last; the run never evaluated on dev)`}`
      : `adapter ${source.from.adapter}`;
  console.log(`${which}; ${source.backendNote}`);
  const metrics = [...new Set(rows.flatMap((r) => Object.keys(r.scores)))];
  const cells = rows.map((r) => [
    r.name,
    split,
    String(r.examples),
    ...metrics.map((m) => r.scores[m]?.toFixed(4) ?? '-'),
  ]);
  console.log(formatTable(['task', 'split', 'examples', ...metrics], cells));
  if (average !== undefined) console.log(`average of the tasks' main metrics: ${average.toFixed(4)}`);
}

const PREDICT_EXAMPLES = `
Examples:
  promptgrad predict --run runs/rte-soft --text "A cat sat." --text-pair "An animal sat."
  promptgrad predict --run runs/sst-custom --text "great film" --text "dull plot"   # a custom single-text task
  promptgrad predict --run runs/rte-soft --input new.jsonl --output preds.jsonl
  promptgrad predict --run runs/rte-soft --input new.jsonl | head -3   # no --output: JSON lines on stdout (records need no idx)
  promptgrad predict --run runs/mt-pool --task CB --input cb.jsonl --output cb-preds.jsonl   # a multitask run: --task required
  promptgrad predict --model ./bert-base-uncased --adapter ./my-peft-adapter --task RTE --input new.jsonl`;

const collect = (v: string, previous: readonly string[]) => [...previous, v];

interface PredictOptions extends SourceOptions {
  readonly input?: string;
  readonly text: readonly string[];
  readonly textPair: readonly string[];
  readonly output?: string;
}

export function predictCommand(program: Command): void {
  const cmd = addSourceOptions(
    program
      .command('predict')
      .description(
        "label new examples with a run's best parameters, or a PEFT adapter; one JSON line out per example in",
      ),
  )
    .option(
      '--input <jsonl>',
      'examples in the task\'s JSONL format (label and idx optional); custom tasks: {"text": …, "text_pair"?: …}',
    )
    .option('--text <text>', 'an example given directly (repeat for more); instead of --input', collect, [])
    .option(
      '--text-pair <text>',
      "the second text of the --text before it (RTE, CB: the hypothesis; BoolQ: the question; a custom task's text_pair)",
      collect,
      [],
    )
    .option('--output <jsonl>', 'where to write {"index", "label", "probs"} lines (default: standard output)');
  cmd.addHelpText('after', PREDICT_EXAMPLES).action(async (o: PredictOptions) => {
    if ((o.input === undefined) === (o.text.length === 0))
      throw new UsageError('predict: give the examples with --input <jsonl> or --text "…" (one of them)');
    if (o.input !== undefined && o.textPair.length > 0)
      throw new UsageError('--text-pair goes with --text; an --input file holds its pairs in its records');
    if (o.input !== undefined && o.output !== undefined && sameFile(o.input, o.output))
      throw new UsageError(`--output ${o.output} is the --input file; write the predictions to another file`);
    const source = await openSource(o, 'predict');
    const { tm, task, params } = source.tasks[0]!;
    const examples =
      o.input !== undefined ? parsePredictInput(o.input, task.name) : textExamples(o.text, o.textPair, task.name);
    const rows = await logitsOf(tm, params, examples);
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
