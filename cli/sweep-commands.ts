/** `promptgrad sweep | sweep status | sweep report | worker`: grids of runs, locally or on a Redis queue. */
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { expandGrid, readGridFile } from '../sweeps/grid.ts';
import { runSweepLocally } from '../sweeps/local.ts';
import { DEFAULT_QUEUE_NAME, submitSweep, sweepStatus } from '../sweeps/queue.ts';
import { buildReport, writeReport } from '../sweeps/report.ts';
import type { ExecOptions } from '../sweeps/run-one.ts';
import { runWorker } from '../sweeps/worker.ts';
import type { RunConfig } from '../training/run-config.ts';
import { UsageError } from '../training/usage-error.ts';
import { configOption, countParser, valueParser } from './config-options.ts';

const backendOption = () =>
  configOption('backend', {
    help: "run on this backend instead of the grid's (a resumed run keeps its own)",
    showDefault: false,
  });
const threadsOption = () =>
  configOption('threads', { help: 'wasm backend worker threads per run (0 = one per core)', showDefault: false });
const queueNameOption = () =>
  new Option('--queue-name <name>', 'BullMQ queue name (one per runs folder)').default(DEFAULT_QUEUE_NAME);

const execOf = (o: { backend?: string; threads?: number }): ExecOptions => ({
  ...(o.backend !== undefined ? { backend: o.backend as RunConfig['backend'] } : {}),
  ...(o.threads !== undefined ? { threads: o.threads } : {}),
});

const SWEEP_EXAMPLES = `
Examples:
  promptgrad sweep --grid grid.json --runs runs/sweep --parallel 2            # on this machine
  promptgrad sweep --grid grid.json --runs /shared/sweep --queue redis://queue-host:6379
  promptgrad worker --queue redis://queue-host:6379 --runs /shared/sweep      # on every machine
  promptgrad sweep status --queue redis://queue-host:6379 --runs /shared/sweep
  promptgrad sweep report --runs /shared/sweep --out report/

grid.json: {"model": "models/bert-base-uncased", "data": "datasets/fewglue", "tasks": ["RTE", "CB"],
            "methods": ["soft", "prefix", "dp-full"], "seeds": [1, 2, 3], "steps": 200, "evalEvery": 20}`;

interface SweepFlags {
  grid?: string;
  runs?: string;
  queue?: string;
  queueName: string;
  parallel: number;
  attempts: number;
  backend?: string;
  threads?: number;
}

export function sweepCommand(program: Command): void {
  const sweep = program
    .command('sweep')
    .description('run a grid of trainings (tasks × methods × seeds): here, or queued for workers on many machines')
    .enablePositionalOptions() // `sweep status --queue …` is the subcommand's --queue, not the sweep's
    // not requiredOption: commander checks a parent's required options for its subcommands too
    .option('--grid <json>', 'grid file: model, data, tasks, methods, seeds, and any train option (required)')
    .option('--runs <folder>', 'runs folder: each run trains into <runs>/<run-id> (required)')
    .option('--queue <redis-url>', 'enqueue the unfinished runs on this Redis for `promptgrad worker`s, and return')
    .addOption(queueNameOption())
    .addOption(new Option('--parallel <n>', 'without --queue: runs at a time').argParser(countParser(1)).default(1))
    .addOption(
      new Option('--attempts <n>', 'with --queue: tries per run before it fails (user errors fail at once)')
        .argParser(countParser(1))
        .default(3),
    )
    .addOption(backendOption())
    .addOption(threadsOption())
    .addHelpText('after', SWEEP_EXAMPLES)
    .action(async (o: SweepFlags) => {
      if (o.grid === undefined || o.runs === undefined)
        throw new UsageError(`sweep: ${o.grid === undefined ? '--grid <json>' : '--runs <folder>'} is required`);
      const runs = expandGrid(readGridFile(o.grid));
      const dir = resolve(o.runs);
      if (o.queue !== undefined) {
        const s = await submitSweep(o.queue, o.queueName, dir, runs, { attempts: o.attempts });
        console.log(
          `sweep: ${runs.length} runs: ${s.added} queued, ${s.requeued} queued again (had failed), ${s.alreadyQueued} already queued, ${s.alreadyFinished} already finished; start workers with: promptgrad worker --queue ${o.queue} --runs ${dir}`,
        );
        return;
      }
      const r = await runSweepLocally(dir, runs, { parallel: o.parallel, exec: execOf(o) });
      console.log(
        `sweep: ${r.finished} finished, ${r.skipped} already finished, ${r.failed.length} failed${r.interrupted ? '; interrupted (run it again to resume)' : ''}`,
      );
      if (r.interrupted) process.exitCode = 130;
      else if (r.failed.some((f) => f.usage)) process.exitCode = 2;
      else if (r.failed.length > 0) process.exitCode = 1;
    });

  sweep
    .command('status')
    .description('counts of waiting / active / completed / failed runs, and why the failed ones failed')
    .requiredOption('--queue <redis-url>', 'the Redis the sweep was queued on')
    .option('--runs <folder>', 'also count the finished and resumable run folders')
    .addOption(queueNameOption())
    .action(async (o: { queue: string; runs?: string; queueName: string }) => {
      const s = await sweepStatus(o.queue, o.queueName, o.runs === undefined ? undefined : resolve(o.runs));
      const c = s.counts;
      console.log(
        `queue ${o.queueName}: waiting ${c.waiting}, active ${c.active}, delayed ${c.delayed}, completed ${c.completed}, failed ${c.failed}`,
      );
      if (s.folder)
        console.log(`runs folder ${o.runs}: ${s.folder.finished} finished, ${s.folder.resumable} with a checkpoint`);
      for (const f of s.failed) console.log(`failed ${f.id}: ${f.reason}`);
    });

  sweep
    .command('report')
    .description('aggregate table (mean ± std per method × task, steps to threshold) and SVG plots of finished runs')
    .requiredOption('--runs <folder>', 'runs folder of the sweep')
    .option('--out <folder>', 'where results.json, results.md and plots/<task>.svg go (default: the runs folder)')
    .addOption(
      new Option('--margin <x>', 'threshold = dev majority-class rate + margin')
        .argParser(valueParser('num'))
        .default(0.05),
    )
    .action(async (o: { runs: string; out?: string; margin: number }) => {
      const out = resolve(o.out ?? o.runs);
      const report = await buildReport(o.runs, { margin: o.margin });
      const files = writeReport(report, out, join(out, 'plots'));
      console.log(report.markdown);
      if (report.unfinished.length > 0) console.log(`\nunfinished (left out): ${report.unfinished.join(', ')}`);
      console.log(`\nwrote ${files.join(', ')}`);
    });
}

export function workerCommand(program: Command): void {
  program
    .command('worker')
    .description("train the queued sweep's runs; run one (or more) on every machine that shares the runs folder")
    .requiredOption('--queue <redis-url>', 'the Redis the sweep was queued on')
    .requiredOption('--runs <folder>', 'the shared runs folder (the same files on every machine)')
    .addOption(queueNameOption())
    .addOption(new Option('--concurrency <n>', 'runs at a time on this machine').argParser(countParser(1)).default(1))
    .addOption(backendOption())
    .addOption(threadsOption())
    .addOption(
      new Option('--lock-duration <ms>', "a dead worker's runs go to another worker after this long")
        .argParser(countParser(1000))
        .default(30000),
    )
    .addOption(
      new Option('--max-stalls <n>', 'times a run may lose its worker before it fails')
        .argParser(countParser(0))
        .default(2),
    )
    .option('--exit-when-done', 'exit once the queue holds no waiting or active run')
    .action(
      async (o: {
        queue: string;
        runs: string;
        queueName: string;
        concurrency: number;
        backend?: string;
        threads?: number;
        lockDuration: number;
        maxStalls: number;
        exitWhenDone?: boolean;
      }) => {
        process.exitCode = await runWorker({
          url: o.queue,
          queueName: o.queueName,
          runs: resolve(o.runs),
          concurrency: o.concurrency,
          exec: execOf(o),
          lockDurationMs: o.lockDuration,
          maxStalls: o.maxStalls,
          exitWhenDone: o.exitWhenDone === true,
        });
      },
    );
}
