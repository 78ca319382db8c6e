/**
 * The training loop. Each step: the next batch of the seeded epoch order, valueAndGrad of the task loss
 * inside a scope (dropout / sampling key = foldIn(runKey, step), the step for schedules such as the Gumbel
 * temperature), the method's loss parts and choice statistics logged with the loss, NaN/Inf guard, optional global-norm clip, AdamW
 * with the scheduled rate. Dev evaluation every `evalEvery` steps keeps the best parameters by the task's
 * main metric; the best are finally evaluated on the test split. The run folder gets metrics.jsonl,
 * curve.svg, config.json, results.json and checkpoint/ (atomic; params, best params, optimiser state,
 * schedule step, key, data cursor). `resume` restores all of it, so the run continues bit-identically.
 */
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { foldIn, keep, scope, treeLeaves, valueAndGrad, type PRNGKey } from '../core/index.ts';
import { epochBatches } from '../data/index.ts';
import { writeFileAtomic } from './atomic-file.ts';
import { loadCheckpoint, saveCheckpoint, type DataCursor, type TrainState } from './checkpoint.ts';
import { clipByGlobalNorm } from './clip.ts';
import { evaluate } from './evaluate.ts';
import { openMetricsLog, type MetricInput, type MetricRecord } from './log.ts';
import { assertFinite } from './nan-guard.ts';
import { adamw, noDecayOnBiasAndNorm, type OptState } from './optimizer.ts';
import { trainingCurveSvg } from './plot.ts';
import { createProgress, type ProgressStream } from './progress.ts';
import { warmupSteps } from './run-config.ts';
import { lrAt, validateSchedule, type Schedule } from './schedule.ts';
import type { TaskData } from './task-data.ts';
import type { LossAux, TaskModel, TrainParams } from './task-model.ts';
import { claimNewRun, claimResumedRun, RUN_FILES } from './run-folder.ts';
import { cloneTree, disposeTree } from './tree-util.ts';
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
}

export interface TrainResult {
  readonly steps: number;
  readonly best: TrainParams;
  readonly bestStep: number;
  readonly bestDev: number;
  readonly test?: Readonly<Record<string, number | undefined>>;
  readonly records: readonly MetricRecord[];
  /** Stopped early by `stopAfter`. */
  readonly interrupted: boolean;
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
function bestOf(records: readonly MetricRecord[], main: string): { step: number; score: number } {
  let best = { step: 0, score: -Infinity };
  for (const r of records) {
    const v = r[main];
    if (r.split === 'dev' && typeof v === 'number' && v > best.score) best = { step: r.step, score: v };
  }
  return best;
}

export async function train(tm: TaskModel, task: TaskData, opts: TrainOptions): Promise<TrainResult> {
  const cfg = tm.cfg,
    bk = tm.model.bk,
    main = task.metrics.main;
  if (task.train.length === 0) throw new UsageError(`${task.name}: the train split has no examples`);
  const ckDir = join(opts.out, RUN_FILES.checkpoint),
    metricsPath = join(opts.out, RUN_FILES.metrics);
  if (opts.resume) claimResumedRun(opts.out);
  else claimNewRun(opts.out); // refuses a folder that is not a run, or holds one; writes the marker first
  const opt = adamw({ weightDecay: cfg.weightDecay, decayMask: noDecayOnBiasAndNorm, inPlace: true });
  const schedule = scheduleFor(tm);
  const init = tm.init(runKey(cfg.seed));
  let state: { params: Both; opt: OptState<'m' | 'v'>; data: DataCursor; metrics: MetricRecord[] };
  if (opts.resume) {
    const fresh = { current: init, best: cloneTree(init) };
    const loaded = await loadCheckpoint(ckDir, { params: fresh, opt: opt.init(init) })();
    if (E.isLeft(loaded)) throw new UsageError(`cannot resume: ${loaded.left.message}`);
    disposeTree(fresh);
    const s = loaded.right;
    state = { params: s.params, opt: s.opt, data: s.data, metrics: [...s.metrics] };
    writeFileAtomic(metricsPath, state.metrics.map((r) => `${JSON.stringify(r)}\n`).join('')); // drop lines past the checkpoint
  } else {
    state = {
      params: { current: init, best: cloneTree(init) },
      opt: opt.init(init),
      data: { epoch: 0, cursor: 0 },
      metrics: [],
    };
  }
  const effective = { ...cfg, ...opts.configExtra };
  writeFileAtomic(join(opts.out, RUN_FILES.config), `${JSON.stringify(effective, null, 2)}\n`);
  const t0 = performance.now(),
    offset = state.metrics.at(-1)?.time ?? 0;
  const log = openMetricsLog(metricsPath, { clock: () => offset + (performance.now() - t0) / 1000 });
  const record = (r: MetricInput) => {
    state.metrics.push(log.append(r));
  };
  const key = runKey(cfg.seed);
  let best = bestOf(state.metrics, main);
  const start = state.opt.step;
  const progress =
    opts.stream === null
      ? undefined
      : createProgress({
          total: cfg.steps,
          start,
          label: `${cfg.method}/${task.name}`,
          everyN: Math.max(1, Math.min(cfg.evalEvery, 25)),
          ...(opts.stream ? { stream: opts.stream } : {}),
        });
  const say = (line: string) => progress?.log(line);

  const save = async (): Promise<void> => {
    const ts: TrainState = {
      params: state.params,
      opt: state.opt,
      scheduleStep: state.opt.step,
      key,
      data: state.data,
      config: effective,
      metrics: state.metrics,
    };
    const r = await saveCheckpoint(ckDir, ts)();
    if (E.isLeft(r)) throw r.left.errno ? new UsageError(r.left.message) : new Error(r.left.message);
  };
  const devEval = async (step: number): Promise<void> => {
    if (task.dev.length === 0) return;
    const { scores } = await evaluate(tm, task, state.params.current, task.dev);
    record({ step, split: 'dev', ...scores });
    const v = scores[main] ?? -Infinity;
    if (v > best.score) {
      best = { step, score: v };
      disposeTree(state.params.best);
      state.params = { current: state.params.current, best: cloneTree(state.params.current) };
    }
    say(
      `step ${step}: dev ${Object.entries(scores)
        .map(([k, x]) => `${k} ${x?.toFixed(4)}`)
        .join(', ')}${best.step === step ? ' (best)' : ''}`,
    );
  };

  let interrupted = false;
  for (let step = start; step < cfg.steps; step++) {
    const order = epochBatches(task.train, cfg.batchSize, cfg.seed, state.data.epoch);
    const examples = order[state.data.cursor]!;
    const next =
      state.data.cursor + 1 >= order.length
        ? { epoch: state.data.epoch + 1, cursor: 0 }
        : { epoch: state.data.epoch, cursor: state.data.cursor + 1 };
    const lr = lrAt(schedule, state.opt.step);
    const { loss, gradNorm, extra } = scope(bk, () => {
      const b = tm.batch(examples);
      const f = (p: TrainParams) => tm.loss(p, b, { key: foldIn(key, step), step });
      const [[lossT, aux], grads] = valueAndGrad(f, { hasAux: true })(state.params.current);
      assertFinite({ method: cfg.method, step: step + 1, loss: lossT, grads });
      const clipped = cfg.clip > 0 ? clipByGlobalNorm(grads, cfg.clip) : undefined;
      const upd = opt.update(state.params.current, clipped ? clipped.grads : grads, state.opt, lr);
      state.opt = { step: upd.state.step, slots: { m: keepTree(upd.state.slots.m), v: keepTree(upd.state.slots.v) } };
      return {
        loss: lossT.dataSync()[0]!,
        gradNorm: clipped ? clipped.norm.dataSync()[0]! : null,
        extra: stepExtras(aux),
      };
    });
    state.data = next;
    const done = step + 1;
    record({ step: done, split: 'train', loss, lr, gradNorm, ...extra });
    progress?.update(done, { loss, examples: examples.length });
    if (done % cfg.evalEvery === 0 || done === cfg.steps) await devEval(done);
    const stopNow = done < cfg.steps && (done === opts.stopAfter || opts.shouldStop?.() === true);
    if ((cfg.checkpointEvery > 0 && done % cfg.checkpointEvery === 0) || done === cfg.steps || stopNow) await save();
    if (stopNow) {
      interrupted = true;
      break;
    }
  }
  progress?.stop();
  writeFileAtomic(
    join(opts.out, RUN_FILES.curve),
    trainingCurveSvg(state.metrics, { title: `${cfg.method} prompt on ${task.name}`, metric: main }),
  );
  const final = state.opt.step;
  let test: Readonly<Record<string, number | undefined>> | undefined;
  if (!interrupted && task.test.length > 0) {
    const params = best.step > 0 ? state.params.best : state.params.current;
    test = (await evaluate(tm, task, params, task.test)).scores;
    log.append({ step: final, split: 'test', bestStep: best.step, ...test });
    say(
      `test (best dev step ${best.step}): ${Object.entries(test)
        .map(([k, x]) => `${k} ${x?.toFixed(4)}`)
        .join(', ')}`,
    );
  }
  if (!interrupted) {
    writeFileAtomic(
      join(opts.out, RUN_FILES.results),
      `${JSON.stringify({ steps: final, bestStep: best.step, bestDev: { [main]: best.score }, test: test ?? null }, null, 2)}\n`,
    );
  }
  const out = best.step > 0 ? state.params.best : state.params.current;
  disposeTree(state.opt.slots);
  return {
    steps: final,
    best: out,
    bestStep: best.step,
    bestDev: best.score,
    ...(test ? { test } : {}),
    records: state.metrics,
    interrupted,
  };
}

/** The method's loss parts (as `lossTask`, `lossHead`, …) and choice statistics, for the train record. */
function stepExtras(aux: LossAux): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [k, t] of Object.entries(aux.parts))
    out[`loss${k.charAt(0).toUpperCase()}${k.slice(1)}`] = t.dataSync()[0]!;
  return { ...out, ...aux.stats };
}

/** Optimiser state must outlive the step's scope (in-place AdamW returns the same tensors; this makes it explicit). */
function keepTree<T>(tree: T): T {
  for (const { leaf } of treeLeaves(tree)) keep(leaf);
  return tree;
}
