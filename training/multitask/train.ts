/**
 * The multitask training loop, composed of the single-task pieces (each task's TaskModel, evaluate,
 * AdamW, clipping, the NaN guard, the metrics log, the checkpoint format). Each step:
 *   1. the mixing rule draws a task (mixing.ts; a pure function of seed and step) and the task takes
 *      the next batch of its own epoch order;
 *   2. valueAndGrad of that task's loss with respect to its group `{ shared?, own }` (sharing.ts), with
 *      the step's key foldIn(runKey, step) and the step (Gumbel schedule) as in a single-task run;
 *   3. global-norm clip over the group's gradient, then AdamW on the shared part (every step) and on the
 *      drawn task's own part (its own step count): other tasks' parameters and moments do not move.
 * Dev evaluation every `evalEvery` steps scores every task and the average of their main metrics, which
 * picks the best parameters; they are scored on every task's test split at the end. metrics.jsonl lines
 * carry `task`; curve.svg has one dev line per task; results.json every task's test scores.
 * Every write once the run has started goes through TrainOptions.fence as in the single-task loop
 * (fenced-writes.ts: metrics lines, checkpoints asked again before the swap, curve, results), so a sweep
 * worker that lost the run stops at its next write with nothing written.
 */
import { join } from 'node:path';
import { foldIn, keep, scope, treeLeaves } from '../../core/index.ts';
import type { Scores } from '../../data/index.ts';
import { writeFileAtomic } from '../atomic-file.ts';
import { evaluate } from '../evaluate.ts';
import { openRunLog, writeRunFile } from '../fenced-writes.ts';
import type { MetricInput, MetricRecord } from '../log.ts';
import { RUN_FILES, runKey, scheduleFor, type TrainOptions } from '../loop.ts';
import { adamw, noDecayOnBiasAndNorm, type OptState } from '../optimizer.ts';
import { createProgress } from '../progress.ts';
import { claimNewRun, claimResumedRun } from '../run-folder.ts';
import { storedRunPaths } from '../run-paths.ts';
import { UsageError } from '../usage-error.ts';
import { parseMix } from '../run-config.ts';
import { lrAt } from '../schedule.ts';
import { computeLossStep, disposeStep, readStep } from '../train-step.ts';
import { cloneTree, disposeTree } from '../tree-util.ts';
import { joinOpt, loadMultitaskCheckpoint, saveMultitaskCheckpoint, type MultitaskState } from './checkpoint.ts';
import { drawTask, freshSampler, mixWeights, takeBatch } from './mixing.ts';
import type { MultitaskModel, TaskGroupParams } from './model.ts';
import {
  AVERAGE,
  AVERAGE_FIELD,
  bestAverage,
  devScoresAt,
  mainAverage,
  multitaskCurveSvg,
  writeResults,
} from './report.ts';
import type { MultitaskParams } from './sharing.ts';

export interface MultitaskTrainResult {
  readonly steps: number;
  /** The best parameters by the average of the tasks' main dev metrics (the current ones if never evaluated). */
  readonly best: MultitaskParams;
  readonly bestStep: number;
  readonly bestDev: number;
  /** Per task, its test scores with the best parameters. */
  readonly test?: Readonly<Record<string, Scores>>;
  readonly testAverage?: number;
  readonly records: readonly MetricRecord[];
  readonly interrupted: boolean;
  /** How often each task was drawn, in the run's task order. */
  readonly draws: readonly number[];
}

type Opt = OptState<'m' | 'v'>;

export async function trainMultitask(mt: MultitaskModel, opts: TrainOptions): Promise<MultitaskTrainResult> {
  const cfg = mt.cfg,
    bk = mt.model.bk,
    names = mt.tasks.map((t) => t.name),
    mains = mt.tasks.map((t) => t.data.metrics.main);
  const mix = parseMix(cfg.mix);
  if (mix._tag === 'Left') throw new Error(`mix: ${mix.left}`);
  const probs = mixWeights(
    mix.right,
    mt.tasks.map((t) => t.data.train.length),
  );
  const ckDir = join(opts.out, RUN_FILES.checkpoint),
    metricsPath = join(opts.out, RUN_FILES.metrics);
  if (opts.resume) claimResumedRun(opts.out);
  else claimNewRun(opts.out); // refuses a folder that is not a run, or holds one; writes the marker first
  const opt = adamw({ weightDecay: cfg.weightDecay, decayMask: noDecayOnBiasAndNorm, inPlace: true });
  const schedule = scheduleFor(mt.tasks[0]!.tm);
  const key = runKey(cfg.seed);
  const init = mt.init(key);
  const freshOpt = (p: MultitaskParams) => ({
    ...(p['shared'] !== undefined ? { shared: opt.init(p['shared']) } : {}),
    tasks: names.map((n) => opt.init(p.tasks[n]!)),
  });
  let state: MultitaskState, metrics: MetricRecord[], start: number;
  if (opts.resume) {
    const fresh = { current: init, best: cloneTree(init) };
    const loaded = await loadMultitaskCheckpoint(ckDir, { params: fresh, opt: opt.init(init) }, names).catch(
      (e: unknown) => {
        throw new UsageError(`cannot resume: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
    disposeTree(fresh);
    state = loaded;
    metrics = [...loaded.metrics];
    start = loaded.step;
    writeFileAtomic(metricsPath, metrics.map((r) => `${JSON.stringify(r)}\n`).join('')); // drop lines past the checkpoint
  } else {
    state = {
      params: { current: init, best: cloneTree(init) },
      opt: freshOpt(init),
      sampler: freshSampler(names.length),
    };
    metrics = [];
    start = 0;
  }
  const effective = { ...storedRunPaths(cfg, opts.out), ...opts.configExtra }; // no absolute local path stored
  writeFileAtomic(join(opts.out, RUN_FILES.config), `${JSON.stringify(effective, null, 2)}\n`);
  const t0 = performance.now(),
    offset = metrics.at(-1)?.time ?? 0;
  const fence = opts.fence;
  const log = openRunLog(metricsPath, () => offset + (performance.now() - t0) / 1000, fence);
  const record = (r: MetricInput) => {
    metrics.push(log.append(r));
  };
  let best = bestAverage(metrics);
  const progress =
    opts.stream === null
      ? undefined
      : createProgress({
          total: cfg.steps,
          start,
          label: `${cfg.method}/${names.join('+')}`,
          everyN: Math.max(1, Math.min(cfg.evalEvery, 25)),
          ...(opts.stream ? { stream: opts.stream } : {}),
        });
  const say = (line: string) => progress?.log(line);
  const save = (step: number) =>
    saveMultitaskCheckpoint(ckDir, state, { key, config: effective, metrics }, names, step, fence);

  const devEval = async (step: number): Promise<void> => {
    const withDev = mt.tasks.map((t, i) => ({ t, i })).filter(({ t }) => t.data.dev.length > 0);
    if (withDev.length === 0) return;
    const scores: Scores[] = [];
    for (const { t, i } of withDev) {
      const s = (await evaluate(t.tm, t.data, mt.paramsFor(state.params.current, i), t.data.dev)).scores;
      record({ step, split: 'dev', task: t.name, ...s });
      scores.push(s);
    }
    const avg = mainAverage(
      scores,
      withDev.map(({ i }) => mains[i]!),
    );
    record({ step, split: 'dev', task: AVERAGE, [AVERAGE_FIELD]: avg });
    if (avg > best.score) {
      best = { step, score: avg };
      disposeTree(state.params.best);
      state = { ...state, params: { current: state.params.current, best: cloneTree(state.params.current) } };
    }
    say(
      `step ${step}: dev ${withDev.map(({ t, i }, k) => `${t.name} ${scores[k]![mains[i]!]?.toFixed(4)}`).join(', ')}; average ${avg.toFixed(4)}${best.step === step ? ' (best)' : ''}`,
    );
  };

  let interrupted = false,
    final = start;
  try {
    for (let step = start; step < cfg.steps; step++) {
      const t = drawTask(cfg.seed, step, probs);
      const task = mt.tasks[t]!;
      const taken = takeBatch(state.sampler, t, task.data.train, cfg.batchSize, cfg.seed);
      const lr = lrAt(schedule, step);
      const ownOpt = state.opt.tasks[t]!,
        sharedOpt = state.opt.shared;
      // As the single-task loop (train-step.ts): the step computed on the device, one asynchronous
      // read-back (loss, norm, method statistics, finiteness flags; NonFiniteError before anything
      // moves), then the updates. No synchronous read, so this runs on WebGPU too.
      const group = mt.groupOf(state.params.current, t);
      const build = () => {
        const b = task.tm.batch(taken.examples);
        return (g: TaskGroupParams) => mt.groupLoss(g, t, b, { key: foldIn(key, step), step });
      };
      const method = `${cfg.method} (${task.name})`;
      const pending = computeLossStep(bk, group, build, { clip: cfg.clip, method, step: step + 1 });
      const { loss, gradNorm, extra } = await readStep(pending, method, step + 1);
      const { own, shared } = scope(bk, () => {
        const g = pending.update;
        const upOwn = opt.update(group.own, g.own, ownOpt, lr).state;
        const upShared =
          sharedOpt && group['shared'] ? opt.update(group['shared'], g['shared']!, sharedOpt, lr).state : undefined;
        return { own: keepSlots(upOwn), shared: upShared ? keepSlots(upShared) : undefined };
      });
      disposeStep(pending);
      state = {
        ...state,
        opt: { ...(shared ? { shared } : {}), tasks: state.opt.tasks.map((o, i) => (i === t ? own : o)) },
        sampler: taken.state,
      };
      const done = step + 1;
      final = done;
      record({ step: done, split: 'train', task: task.name, loss, lr, gradNorm, ...extra });
      progress?.update(done, { loss, examples: taken.examples.length });
      if (done % cfg.evalEvery === 0 || done === cfg.steps) await devEval(done);
      if (
        (cfg.checkpointEvery > 0 && done % cfg.checkpointEvery === 0) ||
        done === cfg.steps ||
        done === opts.stopAfter
      )
        await save(done);
      if (done === opts.stopAfter && done < cfg.steps) {
        interrupted = true;
        break;
      }
    }
  } finally {
    progress?.stop(); // also when a step or a write throws (a fence's refusal, a non-finite loss)
  }
  writeRunFile(
    join(opts.out, RUN_FILES.curve),
    multitaskCurveSvg(
      metrics,
      mt.tasks.map((t) => ({ name: t.name, main: t.data.metrics.main })),
      `${cfg.method} prompt on ${names.join(' + ')} (share ${cfg.share})`,
    ),
    fence,
  );
  const bestParams = best.step > 0 ? state.params.best : state.params.current;
  let test: Record<string, Scores> | undefined, testAverage: number | undefined;
  if (!interrupted && mt.tasks.every((t) => t.data.test.length > 0)) {
    test = {};
    for (const [i, t] of mt.tasks.entries()) {
      const s = (await evaluate(t.tm, t.data, mt.paramsFor(bestParams, i), t.data.test)).scores;
      log.append({ step: final, split: 'test', task: t.name, bestStep: best.step, ...s });
      test[t.name] = s;
    }
    testAverage = mainAverage(
      names.map((n) => test![n]!),
      mains,
    );
    log.append({ step: final, split: 'test', task: AVERAGE, bestStep: best.step, [AVERAGE_FIELD]: testAverage });
    say(
      `test (best dev step ${best.step}): ${names.map((n, i) => `${n} ${test![n]![mains[i]!]?.toFixed(4)}`).join(', ')}; average ${testAverage.toFixed(4)}`,
    );
  }
  if (!interrupted)
    writeResults(
      opts.out,
      {
        steps: final,
        bestStep: best.step,
        bestDev: {
          [AVERAGE]: best.score,
          tasks: Object.fromEntries(names.map((n) => [n, devScoresAt(metrics, n, best.step)])),
        },
        test: test ?? null,
        testAverage: testAverage ?? null,
      },
      fence,
    );
  disposeTree(joinOpt(state.opt, names, final).slots);
  return {
    steps: final,
    best: bestParams,
    bestStep: best.step,
    bestDev: best.score,
    ...(test ? { test } : {}),
    ...(testAverage !== undefined ? { testAverage } : {}),
    records: metrics,
    interrupted,
    draws: state.sampler.tasks.map((c) => c.draws),
  };
}

/** Optimiser slots must outlive the step's scope (in-place AdamW returns the same tensors). */
function keepSlots(s: Opt): Opt {
  for (const { leaf } of treeLeaves(s.slots)) keep(leaf);
  return s;
}
