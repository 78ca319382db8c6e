/**
 * The training API that runs anywhere (Node or a browser): optimisers, schedules, clipping, the NaN
 * guard, plots, tree utilities, and the task model a loop trains (config → frozen encoder + prompt
 * method + head, task data, evaluation). The browser entry exports this as `training`; Node's
 * `training/index.ts` exports all of it plus the file-writing parts (checkpoints, metrics log, atomic
 * folders, the terminal progress bar, the CLI's training loop).
 */
export {
  adamw,
  backendOfTree,
  decayAll,
  noDecayOnBiasAndNorm,
  sgd,
  type AdamWOptions,
  type DecayMask,
  type Optimizer,
  type OptState,
  type SgdOptions,
  type UpdateResult,
} from './optimizer.ts';
export { adafactor, type AdafactorOptions } from './adafactor.ts';
export { lrAt, lrLambda, ScheduleCodec, validateSchedule, type Schedule, type ScheduleKind } from './schedule.ts';
export { clipByGlobalNorm, globalNorm, type ClipResult } from './clip.ts';
export {
  assertFinite,
  finiteFlags,
  nonFiniteError,
  NonFiniteError,
  type FiniteProbe,
  type GuardInput,
} from './nan-guard.ts';
export {
  formatTick,
  lineChartSvg,
  multiSeriesSvg,
  niceTicks,
  PALETTE,
  trainingCurveSvg,
  type ChartOptions,
  type Point,
  type Series,
  type Ticks,
  type TrainingCurveOptions,
} from './plot.ts';
export { formatDuration, Meter } from './meter.ts';
export { cloneTensor, cloneTree, disposeTree, zerosLikeTree } from './tree-util.ts';
export {
  DEFAULTS,
  DROPOUT_DEFAULTS,
  mergeConfig,
  METHODS,
  warmupSteps,
  type ConfigError,
  type MethodName,
  type RunConfig,
} from './run-config.ts';
export {
  buildTaskModel,
  type PreparedBatch,
  type StepContext,
  type TaskModel,
  type TrainParams,
} from './task-model.ts';
export { customExample, loadTaskData, type Example, type TaskData, type TaskError } from './task-data.ts';
export { evaluate, logitsOf, type EvalResult } from './evaluate.ts';
export { loadPromptTokenizer, promptTokenizerOf, type PromptTokenizer } from './text-encoding.ts';
