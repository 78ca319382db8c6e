/**
 * The `promptgrad` command line. Exit codes: 0 success, 1 failure during a run (non-finite loss, I/O),
 * 2 bad input (missing folder, malformed data, unknown task, bad option value).
 */
import { Command, CommanderError } from 'commander';
import { pathToFileURL } from 'node:url';
import { NonFiniteError } from '../training/nan-guard.ts';
import { UsageError } from '../training/run-setup.ts';
import { exportPeftCommand } from './peft-commands.ts';
import { evalCommand, predictCommand } from './run-commands.ts';
import { sweepCommand, workerCommand } from './sweep-commands.ts';
import { trainCommand } from './train-command.ts';
import { verifyHfCommand } from './verify-hf.ts';

export function buildProgram(): Command {
  const program = new Command('promptgrad')
    .description('prompt tuning (soft, prefix, dynamic, InfoPrompt) of frozen BERT/RoBERTa encoders, in TypeScript')
    .exitOverride()
    .enablePositionalOptions() // lets `sweep status --queue …` give --queue to status, not to sweep
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  npm run demo                                                        # tiny random encoder on a toy task
  promptgrad train --model ./bert-base-uncased --task RTE --data ./fewglue --method soft --out runs/rte
  promptgrad eval --run runs/rte --split val
  promptgrad predict --run runs/rte --input new.jsonl --output preds.jsonl
  promptgrad export-peft --run runs/rte --out adapters/rte
  promptgrad sweep --grid grid.json --runs runs/sweep --parallel 2           # tasks × methods × seeds
  promptgrad worker --queue redis://host:6379 --runs /shared/sweep           # one per machine`,
    );
  trainCommand(program);
  evalCommand(program);
  predictCommand(program);
  exportPeftCommand(program);
  verifyHfCommand(program);
  sweepCommand(program);
  workerCommand(program);
  return program;
}

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. */
export async function main(
  argv: readonly string[],
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  const program = buildProgram();
  program.configureOutput({ writeErr: err });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      err(`promptgrad: ${e.message}\n`);
      return 2;
    }
    if (e instanceof NonFiniteError) {
      err(`promptgrad: training stopped: ${e.message}\n`);
      return 1;
    }
    err(`promptgrad: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
