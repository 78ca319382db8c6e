/**
 * The `promptgrad` command line. Exit codes (RELIABILITY.md): 0 success; 2 the user's to fix, printed as
 * one line without a stack (a bad option or input, a folder that holds something else, a run that cannot
 * resume, and every file-system error: no space, read-only, permission); 1 training stopped on a
 * non-finite loss; 70 a bug in PromptGrad, printed with its stack and where to report it.
 * `reportError` below is the one place that decides.
 */
import { Command, CommanderError } from 'commander';
import { pathToFileURL } from 'node:url';
import { describeFsError, isErrnoError } from '../training/fs-error.ts';
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
    return reportError(e, err);
  }
}

/** Where a bug report goes (printed under a bug's stack). */
export const BUG_REPORT_AT = 'the PromptGrad issue tracker (with the command line and this output)';

/** Exit codes: see the module comment. */
export const EXIT = { ok: 0, stopped: 1, usage: 2, bug: 70 } as const;

/** Prints an error the way its kind asks for and returns the exit code: the one place that decides. */
export function reportError(e: unknown, err: (s: string) => void): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage; // commander printed it
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');
  if (e instanceof UsageError) {
    err(`promptgrad: ${oneLine(e.message)}\n`);
    return EXIT.usage;
  }
  if (isErrnoError(e)) {
    err(`promptgrad: ${oneLine(describeFsError(e))}\n`);
    return EXIT.usage;
  }
  if (e instanceof NonFiniteError) {
    err(`promptgrad: training stopped: ${oneLine(e.message)}\n`);
    return EXIT.stopped;
  }
  err(
    `promptgrad: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n` +
      `promptgrad: this is a bug in PromptGrad, not in your input; please report it at ${BUG_REPORT_AT}\n`,
  );
  return EXIT.bug;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
