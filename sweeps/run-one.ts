/**
 * One sweep run, trained into `<runs>/<run-id>/` in the calling thread: skipped when it has finished
 * (results.json), resumed from its last checkpoint when it has one (the loop's bit-exact resume, with the
 * backend it started with), started fresh otherwise. `shouldStop` is asked after every step; when it says
 * yes the run checkpoints and returns `stopped`, so another worker can resume it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { majorityRate, subsampleVal } from '../experiments/variants.ts';
import { readStateJson } from '../training/checkpoint.ts';
import { RUN_FILES, train } from '../training/loop.ts';
import { readableCheckpoint } from '../training/run-folder.ts';
import { CONFIG_FIELDS, decodePartial, mergeConfig, type RunConfig } from '../training/run-config.ts';
import { backendFor, loadModel } from '../training/run-setup.ts';
import { loadTaskData } from '../training/task-data.ts';
import { buildTaskModel } from '../training/task-model.ts';
import { resolveRunPaths } from '../training/run-paths.ts';
import { loadPromptTokenizer } from '../training/text-encoding.ts';
import { UsageError } from '../training/usage-error.ts';
import type { RunExtra, SweepRun } from './grid.ts';
import { claimRun, logAttempt, ownerFence, RunTakenOver } from './run-owner.ts';

/**
 * How the worker runs it: a backend / thread count of its own, or the grid's when absent. The backend
 * goes into the run's config (it changes the numbers); the thread count does not (it changes only the
 * speed: the kernels give the same bits on any number of threads), so config.json keeps the grid's value
 * and a run is byte-identical whichever worker ran it. Queued attempts record their own in run-owner.ts.
 */
export interface ExecOptions {
  readonly backend?: RunConfig['backend'];
  readonly threads?: number;
}

export type RunOutcome =
  | { readonly kind: 'already-finished' }
  | { readonly kind: 'stopped'; readonly step: number }
  /** Another attempt owns the run now (this one lost its job): stopped with nothing written. */
  | { readonly kind: 'taken-over'; readonly reason: string }
  | {
      readonly kind: 'finished';
      readonly resumedFrom: number | null;
      readonly steps: number;
      readonly bestStep: number;
      readonly bestDev: number;
      readonly main: string;
      readonly test: Readonly<Record<string, number | undefined>> | null;
    };

/** A queued attempt: its job token (the run's owner while it holds the job) and whether it lost the job. */
export interface AttemptOwner {
  readonly token: string;
  readonly attempt: number;
  readonly lost: () => boolean;
}

export interface RunHooks {
  readonly shouldStop: () => boolean;
  readonly log: (line: string) => void;
  /** Only for a queued run: one writer per run folder (run-owner.ts). */
  readonly owner?: AttemptOwner;
}

export const runDir = (runs: string, id: string): string => join(runs, id);
export const isFinished = (dir: string): boolean => existsSync(join(dir, RUN_FILES.results));
export const hasCheckpoint = (dir: string): boolean => readableCheckpoint(dir) !== undefined;

/** The config a checkpoint was written with (the resume must match it exactly) and its step. */
async function savedRun(dir: string, id: string): Promise<{ config: RunConfig; step: number }> {
  const state = await readStateJson(join(dir, RUN_FILES.checkpoint))();
  if (E.isLeft(state)) throw new UsageError(`${dir}: cannot resume: ${state.left.message}`);
  const saved = (state.right.config ?? {}) as Record<string, unknown>;
  if (saved['runId'] !== id)
    throw new UsageError(`${dir}: holds run ${JSON.stringify(saved['runId'])}, not ${id}; move it out of the way`);
  const known = Object.fromEntries(Object.entries(saved).filter(([k]) => (CONFIG_FIELDS as string[]).includes(k)));
  const config = E.flatMap(decodePartial(known, dir), (p) => mergeConfig([p], dir));
  if (E.isLeft(config)) throw new UsageError(config.left.message);
  // the checkpoint stores model and data relative to the run folder (run-paths.ts), not to the worker's cwd
  return { config: resolveRunPaths(config.right, dir), step: state.right.optimizerStep };
}

export async function runOne(runs: string, run: SweepRun, exec: ExecOptions, hooks: RunHooks): Promise<RunOutcome> {
  const dir = runDir(runs, run.id);
  const { owner } = hooks;
  // first, before anything in the run folder is read: from here on an older attempt writes nothing
  if (owner) claimRun(runs, run.id, owner.token);
  if (isFinished(dir)) return { kind: 'already-finished' };
  const saved = hasCheckpoint(dir) ? await savedRun(dir, run.id) : undefined;
  const cfg: RunConfig = saved?.config ?? { ...run.config, backend: exec.backend ?? run.config.backend };
  const threads = exec.threads ?? cfg.threads;
  const loaded = await loadTaskData(cfg.task, cfg.data)();
  if (E.isLeft(loaded)) throw new UsageError(loaded.left.message);
  const task = { ...loaded.right, test: subsampleVal(loaded.right.test, run.extra.valLimit, run.extra.valSeed) };
  const { backend, note } = await backendFor(cfg.backend, threads, cfg);
  const model = await loadModel(cfg.model, cfg.dtype, backend, cfg.weights, cfg.dropout);
  const tok = await loadPromptTokenizer(cfg.model)();
  if (E.isLeft(tok)) throw new UsageError(`--model: ${tok.left.message}`);
  const tm = buildTaskModel(model, tok.right, task, cfg);
  hooks.log(saved ? `resuming from step ${saved.step} on the ${note}` : `starting on the ${note}`);
  if (owner)
    logAttempt(runs, run.id, {
      attempt: owner.attempt,
      backend: note,
      threads,
      resumedFrom: saved?.step ?? null,
    });
  const extra: RunExtra & Readonly<Record<string, unknown>> = {
    ...run.extra,
    valSize: task.test.length,
    devMajority: majorityRate(task.dev.map((e) => e.label)),
    valMajority: majorityRate(task.test.map((e) => e.label)),
  };
  const lines = { isTTY: false, write: (chunk: string) => chunk.split('\n').forEach((l) => l && hooks.log(l)) };
  const r = await train(tm, task, {
    out: dir,
    resume: saved !== undefined,
    stream: lines,
    shouldStop: hooks.shouldStop,
    configExtra: extra,
    ...(owner ? { fence: ownerFence(runs, run.id, owner.token, owner.lost) } : {}),
  }).catch((e: unknown) => {
    if (e instanceof RunTakenOver) return { kind: 'taken-over' as const, reason: e.message };
    throw e;
  });
  if ('kind' in r) return r;
  if (r.interrupted) return { kind: 'stopped', step: r.steps };
  return {
    kind: 'finished',
    resumedFrom: saved?.step ?? null,
    steps: r.steps,
    bestStep: r.bestStep,
    bestDev: r.bestDev,
    main: task.metrics.main,
    test: r.test ?? null,
  };
}

/** `val accuracy 0.625, macroF1 0.41; best dev accuracy 0.656 at step 8` */
export function describeOutcome(o: Extract<RunOutcome, { kind: 'finished' }>): string {
  const val = o.test
    ? `val ${Object.entries(o.test)
        .map(([k, v]) => `${k} ${v?.toFixed(4)}`)
        .join(', ')}; `
    : '';
  return `${val}best dev ${o.main} ${o.bestDev.toFixed(4)} at step ${o.bestStep}${o.resumedFrom === null ? '' : ` (resumed from step ${o.resumedFrom})`}`;
}
