/**
 * For the sweep tests: a real redis-server on 127.0.0.1 at a free port (stopped by the caller), and the
 * CLI as child processes whose output is collected. Without redis-server the tests skip, except under
 * CI=true, where its absence is a failure (.ci/run installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { checkRedis } from './queue.ts';

export const REPO = fileURLToPath(new URL('..', import.meta.url));

export function findRedisServer(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const found = which.status === 0 ? which.stdout.trim() : '';
  if (found !== '') return found;
  return existsSync('/usr/sbin/redis-server') ? '/usr/sbin/redis-server' : undefined;
}

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startRedis(bin: string): Promise<RedisServer> {
  const port = await freePort();
  const proc = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  for (let i = 0; ; i++) {
    try {
      await checkRedis(url, 500);
      return { url, stop };
    } catch (e) {
      if (i >= 50) {
        await stop();
        throw e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface CliProcess {
  readonly proc: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or 128 + signal number style: null code → -1). */
  readonly exited: Promise<number>;
  /** Resolves once the output matches. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

export function cli(args: readonly string[]): CliProcess {
  const proc = spawn(process.execPath, ['--import', './scripts/register.mjs', 'cli/main.ts', ...args], {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) w();
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise<number>((resolve) => proc.on('close', (code) => resolve(code ?? -1)));
  const waitFor = (re: RegExp, timeoutMs: number) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (!m) return;
        waiters.splice(waiters.indexOf(check), 1);
        clearTimeout(timer);
        resolve(m);
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(check), 1);
        reject(new Error(`no ${re} within ${timeoutMs} ms; output so far:\n${out}`));
      }, timeoutMs);
      waiters.push(check);
      check();
    });
  return { proc, output: () => out, exited, waitFor };
}

/** Runs the CLI to its end. */
export async function cliRun(args: readonly string[]): Promise<{ code: number; out: string }> {
  const p = cli(args);
  const code = await p.exited;
  return { code, out: p.output() };
}
