/**
 * The `promptgrad` command line. Exit codes (RELIABILITY.md): 0 success; 2 the user's to fix, printed as
 * one line without a stack (a bad option or input, a folder that holds something else, a run that cannot
 * resume, and every file-system error: no space, read-only, permission); 1 training stopped on a
 * non-finite loss; 70 a bug in PromptGrad, printed with its stack and where to report it.
 * `reportError` below is the one place that decides.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describeFsError, isErrnoError } from '../training/fs-error.ts';
import { NonFiniteError } from '../training/nan-guard.ts';
import { UsageError } from '../training/run-setup.ts';
import { exportPeftCommand } from './peft-commands.ts';
import { evalCommand, predictCommand } from './run-commands.ts';
import { sweepCommand, workerCommand } from './sweep-commands.ts';
import { trainCommand } from './train-command.ts';
import { verifyHfCommand } from './verify-hf.ts';

/** The package's version: package.json sits one folder above both cli/main.ts and the bundled dist/cli.js. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/**
 * A closed stdout (`promptgrad help train | head -3`) ends the process quietly with status 0, as
 * Unix tools do, instead of an unhandled EPIPE error.
 */
let epipeHandled = false;
export function exitQuietlyOnEpipe(stream: NodeJS.WriteStream = process.stdout): void {
  if (epipeHandled) return;
  epipeHandled = true;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

export function buildProgram(): Command {
  const program = new Command('promptgrad')
    .description('prompt tuning (soft, prefix, dynamic, InfoPrompt) of frozen BERT/RoBERTa encoders, in TypeScript')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    // Commander's errors are printed by reportError, in the one format of every user error; the
    // subcommands below inherit this (silenced) output configuration.
    .configureOutput({ outputError: () => {} })
    .enablePositionalOptions() // lets `sweep status --queue …` give --queue to status, not to sweep
    .addHelpText(
      'after',
      `
Examples:
  npm run demo                                                        # the demo encoder on a synthetic toy task
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
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    const command = program.commands.find((c) => c.name() === argv[0]);
    return reportError(e, err, command ? `promptgrad ${command.name()}` : 'promptgrad');
  }
}

/** Where a bug report goes (printed under a bug's stack). */
export const BUG_REPORT_AT = 'the PromptGrad issue tracker (with the command line and this output)';

/** Exit codes: see the module comment. */
export const EXIT = { ok: 0, stopped: 1, usage: 2, bug: 70 } as const;

/**
 * Commander's message in the format of every user error: `--flag value: why` for a bad value (a choice
 * outside `.choices()`, or a value parser's InvalidArgumentError), commander's own words otherwise.
 */
export function commanderMessage(e: CommanderError): string {
  const m = e.message.replace(/^error: /, '');
  const bad = /^option '(--?[\w-]+)[^']*' argument '(.*)' is invalid\. (.*)$/s.exec(m);
  if (!bad) return m;
  const [, flag, value, why] = bad as unknown as [string, string, string, string];
  return `${flag} ${value}: ${why.replace(/^Allowed choices are (.*)\.$/s, 'expected one of $1')}`;
}

/** Commander's exits that are not errors, or whose text it has already written (help, version). */
const COMMANDER_OUTPUT = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/**
 * Prints an error the way its kind asks for and returns the exit code: the one place that decides.
 * `command` (`promptgrad train`) points a command-line mistake at that command's help.
 */
export function reportError(e: unknown, err: (s: string) => void, command = 'promptgrad'): number {
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');
  if (e instanceof CommanderError) {
    if (e.exitCode === 0) return EXIT.ok;
    if (!COMMANDER_OUTPUT.has(e.code)) err(`promptgrad: ${oneLine(commanderMessage(e))} (see ${command} --help)\n`);
    return EXIT.usage;
  }
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
  exitQuietlyOnEpipe();
  process.exitCode = await main(process.argv.slice(2));
}
