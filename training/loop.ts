/**
 * The training loop, in four parts: `restoreOrInit` (a fresh run, or everything a checkpoint holds),
 * then per step the pure `computeStep` (train-step.ts: the next `gradAccum` batches of the seeded epoch
 * order, valueAndGrad with dropout / sampling key foldIn(runKey, step), their gradients averaged by
 * examples, optional global-norm clip), `afterStep`
 * (the step's single asynchronous read-back of loss, loss parts, choice statistics and finiteness; the
 * AdamW update at the scheduled rate; log, callbacks, dev evaluation, checkpoint), and `finish` (curve,
 * test score of the best parameters, results.json). Dev evaluation every `evalEvery` steps keeps the best
 * parameters by the task's main metric. The run folder gets metrics.jsonl, curve.svg, config.json,
 * results.json and checkpoint/ (atomic; params, best params, optimiser state, schedule step, key, data
 * cursor). `resume` restores all of it, so the run continues bit-identically; with a larger
 * `steps` it continues past the old end (the schedule is recomputed for the new total). No read is
 * synchronous, so the loop runs on every backend, WebGPU included.
 */
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { foldIn, type PRNGKey } from '../core/index.ts';
import { epochBatches } from '../data/index.ts';
import { writeFileAtomic } from './atomic-file.ts';
import { loadCheckpoint, type DataCursor, type TrainState } from './checkpoint.ts';
import { evaluate } from './evaluate.ts';
import { saveCheckpointFenced, openRunLog, writeRunFile } from './fenced-writes.ts';
import type { MetricRecord, MetricsLog } from './log.ts';
import { adamw, noDecayOnBiasAndNorm, type Optimizer, type OptState } from './optimizer.ts';
import { trainingCurveSvg } from './plot.ts';
import { createProgress, type Progress, type ProgressStream } from './progress.ts';
import { warmupSteps } from './run-config.ts';
import { lrAt, validateSchedule, type Schedule } from './schedule.ts';
import type { Example, TaskData } from './task-data.ts';
import type { TaskModel, TrainParams } from './task-model.ts';
import { claimNewRun, claimResumedRun, RUN_FILES } from './run-folder.ts';
import { applyStep, computeStep, readStep, type StepValues } from './train-step.ts';
import { cloneTree, disposeTree } from './tree-util.ts';
import { storedRunPaths } from './run-paths.ts';
import { UsageError } from './usage-error.ts';

export { RUN_FILES } from './run-folder.ts';

export interface TrainOptions {
  /** Run folder. */
  readonly out: string;
  /** Continue from `<out>/checkpoint`. */
  readonly resume?: boolean;
  /** Stop (after checkpointing) once this many steps are done: simulates an interruption. */
  readonly stopAfter?: number;
  /** Asked after every step; true = checkpoint now and stop (a sweep worker releasing its job). */
  readonly shouldStop?: () => boolean;
  /** Progress output (default stdout); `null` = silent. */
  readonly stream?: ProgressStream | null;
  /** Extra fields saved into config.json (e.g. where the model came from). */
  readonly configExtra?: Readonly<Record<string, unknown>>;
  /** Called after each step's read-back (awaited). */
  readonly onStep?: (info: StepInfo) => void | Promise<void>;
  /** Called after each dev evaluation (awaited). */
  readonly onEval?: (info: EvalInfo) => void | Promise<void>;
  /**
   * Stop when this many dev evaluations in a row have not improved the main metric (the best is kept);
   * default the config's `earlyStopPatience` (0 = never).
   */
  readonly earlyStoppingPatience?: number;
  /** When aborted, the current step finishes, a checkpoint is written and the run returns `interrupted`. */
  readonly signal?: AbortSignal;
  /**
   * Called before every write to the run folder once the run has started (metrics lines, checkpoints,
   * curve, results); throwing stops the run with nothing written. A sweep worker's check that it still
   * owns the run (sweeps/run-owner.ts).
   */
  readonly fence?: () => void;
}

export interface StepInfo extends StepValues {
  /** Steps done (1-based). */
  readonly step: number;
  readonly lr: number;
}

export interface EvalInfo {
  readonly step: number;
  readonly scores: Readonly<Record<string, number | undefined>>;
  readonly bestStep: number;
  readonly bestScore: number;
}

export interface TrainResult {
  readonly steps: number;
  readonly best: TrainParams;
  readonly bestStep: number;
  readonly bestDev: number;
  readonly test?: Readonly<Record<string, number | undefined>>;
  readonly records: readonly MetricRecord[];
  /** Stopped before `steps` by `stopAfter` or the abort signal (a checkpoint was written). */
  readonly interrupted: boolean;
  /** Stopped before `steps` by early stopping (the run is complete: scored and results written). */
  readonly stoppedEarly: boolean;
}

/** What the checkpoint's params tree holds. */
interface Both {
  readonly [k: string]: TrainParams;
  readonly current: TrainParams;
  readonly best: TrainParams;
}

export const runKey = (seed: number): PRNGKey => foldIn([seed >>> 0, 0x7472616e], 1);

export function scheduleFor(tm: TaskModel): Schedule {
  const c = tm.cfg;
  const kind = c.schedule === 'constant' ? 'constant-warmup' : c.schedule;
  return validateSchedule({ kind, baseLr: c.lr, warmupSteps: warmupSteps(c), totalSteps: c.steps });
}

/** Best dev score so far (first step reaching the maximum of the main metric). */
export function bestDevStep(records: readonly MetricRecord[], main: string): { step: number; score: number } {
  let best = { step: 0, score: -Infinity };
  for (const r of records) {
    const v = r[main];
    if (r.split === 'dev' && typeof v === 'number' && v > best.score) best = { step: r.step, score: v };
  }
  return best;
}

/** Everything a run carries from step to step (what the checkpoint stores, plus the best so far). */
interface RunState {
  params: Both;
  opt: OptState<'m' | 'v'>;
  data: DataCursor;
  readonly metrics: MetricRecord[];
  best: { step: number; score: number };
}

/** The run's fixed context: model, task, options, optimiser, schedule, files and output. */
interface RunContext {
  readonly tm: TaskModel;
  readonly task: TaskData;
  readonly opts: TrainOptions;
  readonly opt: Optimizer<'m' | 'v'>;
  readonly schedule: Schedule;
  readonly key: PRNGKey;
  readonly effective: Readonly<Record<string, unknown>>;
  readonly ckDir: string;
  readonly log: MetricsLog;
  readonly progress: Progress | undefined;
}

/** A fresh run (refusing a folder that already holds one), or the state saved in `<out>/checkpoint`. */
async function restoreOrInit(tm: TaskModel, opts: TrainOptions, opt: Optimizer<'m' | 'v'>): Promise<RunState> {
  const cfg = tm.cfg,
    ckDir = join(opts.out, RUN_FILES.checkpoint),
    metricsPath = join(opts.out, RUN_FILES.metrics);
  if (opts.resume) claimResumedRun(opts.out);
  else claimNewRun(opts.out); // refuses a folder that is not a run, or holds one; writes the marker first
  const init = tm.init(runKey(cfg.seed));
  if (opts.resume) {
    const fresh = { current: init, best: cloneTree(init) };
    const loaded = await loadCheckpoint(ckDir, { params: fresh, opt: opt.init(init) })();
    if (E.isLeft(loaded)) throw new UsageError(`cannot resume: ${loaded.left.message}`);
    disposeTree(fresh);
    const s = loaded.right;
    const metrics = [...s.metrics];
    writeFileAtomic(metricsPath, metrics.map((r) => `${JSON.stringify(r)}\n`).join('')); // drop lines past the checkpoint
    return { params: s.params, opt: s.opt, data: s.data, metrics, best: { step: 0, score: -Infinity } };
  }
  return {
    params: { current: init, best: cloneTree(init) },
    opt: opt.init(init),
    data: { epoch: 0, cursor: 0 },
    metrics: [],
    best: { step: 0, score: -Infinity },
  };
}

async function save(ctx: RunContext, s: RunState): Promise<void> {
  const ts: TrainState = {
    params: s.params,
    opt: s.opt,
    scheduleStep: s.opt.step,
    key: ctx.key,
    data: s.data,
    config: ctx.effective,
    metrics: s.metrics,
  };
  await saveCheckpointFenced(ctx.ckDir, ts, ctx.opts.fence);
}

const fmtScores = (scores: Readonly<Record<string, number | undefined>>) =>
  Object.entries(scores)
    .map(([k, x]) => `${k} ${x?.toFixed(4)}`)
    .join(', ');

async function devEval(ctx: RunContext, s: RunState, step: number): Promise<void> {
  const { tm, task } = ctx,
    main = task.metrics.main;
  if (task.dev.length === 0) return;
  const { scores } = await evaluate(tm, task, s.params.current, task.dev);
  s.metrics.push(ctx.log.append({ step, split: 'dev', ...scores }));
  const v = scores[main] ?? -Infinity;
  if (v > s.best.score) {
    s.best = { step, score: v };
    disposeTree(s.params.best);
    s.params = { current: s.params.current, best: cloneTree(s.params.current) };
  }
  ctx.progress?.log(`step ${step}: dev ${fmtScores(scores)}${s.best.step === step ? ' (best)' : ''}`);
  await ctx.opts.onEval?.({ step, scores, bestStep: s.best.step, bestScore: s.best.score });
}

/** Dev evaluations since the best one (early stopping's count). */
const evalsSinceBest = (s: RunState) => s.metrics.filter((r) => r.split === 'dev' && r.step > s.best.step).length;

/** Why the loop stops after this step, if it does. */
type Stop = 'interrupted' | 'early' | undefined;

/** After the pure step: the read-back, the update, the log, callbacks, dev evaluation and checkpoint. */
async function afterStep(
  ctx: RunContext,
  s: RunState,
  step: number,
  pending: ReturnType<typeof computeStep>,
  nExamples: number,
): Promise<Stop> {
  const { tm, opts } = ctx,
    cfg = tm.cfg,
    done = step + 1;
  const lr = lrAt(ctx.schedule, s.opt.step);
  const values = await readStep(pending, cfg.method, done);
  s.opt = applyStep(tm.model.bk, ctx.opt, s.params.current, pending, s.opt, lr);
  s.metrics.push(
    ctx.log.append({ step: done, split: 'train', loss: values.loss, lr, gradNorm: values.gradNorm, ...values.extra }),
  );
  ctx.progress?.update(done, { loss: values.loss, examples: nExamples });
  await opts.onStep?.({ step: done, lr, ...values });
  if (done % cfg.evalEvery === 0 || done === cfg.steps) await devEval(ctx, s, done);
  // A step on the CPU backends never waits on I/O, so without this the event loop (and with it a
  // SIGINT handler that aborts the signal) would not run until the whole run is done.
  if (opts.signal || opts.shouldStop) await new Promise((resolve) => setImmediate(resolve));
  const patience = opts.earlyStoppingPatience ?? (cfg.earlyStopPatience > 0 ? cfg.earlyStopPatience : undefined);
  const stop: Stop =
    done === opts.stopAfter || opts.signal?.aborted === true || opts.shouldStop?.() === true
      ? 'interrupted'
      : patience !== undefined && evalsSinceBest(s) >= patience
        ? 'early'
        : undefined;
  if ((cfg.checkpointEvery > 0 && done % cfg.checkpointEvery === 0) || done === cfg.steps || stop) await save(ctx, s);
  return done < cfg.steps ? stop : undefined;
}

/** Curve, the best parameters' test score and results.json (not for an interrupted run); frees the optimiser state. */
async function finish(ctx: RunContext, s: RunState, stop: Stop): Promise<TrainResult> {
  const { tm, task, opts } = ctx,
    cfg = tm.cfg,
    main = task.metrics.main;
  ctx.progress?.stop();
  writeRunFile(
    join(opts.out, RUN_FILES.curve),
    trainingCurveSvg(s.metrics, { title: `${cfg.method} prompt on ${task.name}`, metric: main }),
    opts.fence,
  );
  const final = s.opt.step,
    interrupted = stop === 'interrupted';
  const best = s.best.step > 0 ? s.params.best : s.params.current;
  let test: Readonly<Record<string, number | undefined>> | undefined;
  if (!interrupted && task.test.length > 0) {
    test = (await evaluate(tm, task, best, task.test)).scores;
    ctx.log.append({ step: final, split: 'test', bestStep: s.best.step, ...test });
    ctx.progress?.log(`test (best dev step ${s.best.step}): ${fmtScores(test)}`);
  }
  if (!interrupted) {
    const results = { steps: final, bestStep: s.best.step, bestDev: { [main]: s.best.score }, test: test ?? null };
    writeRunFile(join(opts.out, RUN_FILES.results), `${JSON.stringify(results, null, 2)}\n`, opts.fence);
  }
  disposeTree(s.opt.slots);
  return {
    steps: final,
    best,
    bestStep: s.best.step,
    bestDev: s.best.score,
    ...(test ? { test } : {}),
    records: s.metrics,
    interrupted,
    stoppedEarly: stop === 'early',
  };
}

/** Trains `tm` on `task` into the run folder `opts.out` (see the module comment). */
export async function train(tm: TaskModel, task: TaskData, opts: TrainOptions): Promise<TrainResult> {
  const cfg = tm.cfg;
  if (task.train.length === 0) throw new UsageError(`${task.name}: the train split has no examples`);
  const opt = adamw({ weightDecay: cfg.weightDecay, decayMask: noDecayOnBiasAndNorm, inPlace: true });
  const s = await restoreOrInit(tm, opts, opt);
  s.best = bestDevStep(s.metrics, task.metrics.main);
  const effective = { ...storedRunPaths(cfg, opts.out), ...opts.configExtra }; // no absolute local path stored
  writeFileAtomic(join(opts.out, RUN_FILES.config), `${JSON.stringify(effective, null, 2)}\n`);
  const t0 = performance.now(),
    offset = s.metrics.at(-1)?.time ?? 0,
    start = s.opt.step;
  const ctx: RunContext = {
    tm,
    task,
    opts,
    opt,
    schedule: scheduleFor(tm),
    key: runKey(cfg.seed),
    effective,
    ckDir: join(opts.out, RUN_FILES.checkpoint),
    log: openRunLog(join(opts.out, RUN_FILES.metrics), () => offset + (performance.now() - t0) / 1000, opts.fence),
    progress:
      opts.stream === null
        ? undefined
        : createProgress({
            total: cfg.steps,
            start,
            label: `${cfg.method}/${task.name}`,
            everyN: Math.max(1, Math.min(cfg.evalEvery, 25)),
            ...(opts.stream ? { stream: opts.stream } : {}),
          }),
  };
  let stop: Stop;
  for (let step = start; step < cfg.steps && !stop; step++) {
    // --grad-accum micro-batches, each the next batch of the seeded epoch order (across epochs)
    const micro: (readonly Example[])[] = [];
    for (let i = 0; i < cfg.gradAccum; i++) {
      const order = epochBatches(task.train, cfg.batchSize, cfg.seed, s.data.epoch);
      micro.push(order[s.data.cursor]!);
      s.data =
        s.data.cursor + 1 >= order.length
          ? { epoch: s.data.epoch + 1, cursor: 0 }
          : { epoch: s.data.epoch, cursor: s.data.cursor + 1 };
    }
    const pending = computeStep(tm, s.params.current, micro, { key: foldIn(ctx.key, step), step });
    try {
      stop = await afterStep(
        ctx,
        s,
        step,
        pending,
        micro.reduce((n, b) => n + b.length, 0),
      );
    } catch (e) {
      ctx.progress?.stop();
      throw e;
    }
  }
  return finish(ctx, s, stop);
}
