/** Runs the CLI in-process for tests: exit code, stderr, and stdout (silenced on the console). */
import { main } from '../main.ts';

export interface CliResult {
  readonly code: number;
  readonly err: string;
  readonly out: string;
}

export async function runCli(...argv: string[]): Promise<CliResult> {
  let err = '',
    out = '';
  const log = console.log;
  console.log = (...a: unknown[]) => {
    out += `${a.map(String).join(' ')}\n`;
  };
  try {
    const code = await main(argv, (s) => {
      err += s;
    });
    return { code, err, out };
  } finally {
    console.log = log;
  }
}

/** A user error as the CLI must print it: exit 2, one line, no stack. */
export function isOneLineUsageError(r: CliResult): boolean {
  return (
    r.code === 2 && r.err.trim().split('\n').length === 1 && !/\n\s+at /.test(r.err) && r.err.startsWith('promptgrad: ')
  );
}
