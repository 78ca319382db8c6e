/** PromptGrad training utilities: optimisers, schedules, clipping, NaN guard, checkpoints, metrics log, plots, progress. */
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
export { assertFinite, assertFiniteAsync, NonFiniteError, type GuardInput } from './nan-guard.ts';
export {
  encodeState,
  loadCheckpoint,
  readStateJson,
  saveCheckpoint,
  STATE_FORMAT,
  STATE_JSON,
  STATE_TENSORS,
  StateJsonCodec,
  type DataCursor,
  type SaveError,
  type SaveOptions,
  type StateJson,
  type StateTemplate,
  type TrainState,
} from './checkpoint.ts';
export { fsyncWriter, resolveDir, writeDirAtomic, type DurableWriter } from './atomic-dir.ts';
export {
  MetricRecordCodec,
  openMetricsLog,
  parseMetricsLog,
  readMetricsLog,
  type MetricInput,
  type MetricRecord,
  type MetricsLog,
  type MetricsLogOptions,
  type ParsedLog,
} from './log.ts';
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
export {
  createProgress,
  formatDuration,
  type Progress,
  type ProgressInfo,
  type ProgressOptions,
  type ProgressStream,
} from './progress.ts';
export { cloneTensor, cloneTree, disposeTree, zerosLikeTree } from './tree-util.ts';
// The task model, task data, config and evaluation a loop trains with (also the browser entry's `training`).
export * from './portable.ts';
