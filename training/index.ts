/** PromptGrad training utilities: optimisers, schedules, clipping, NaN guard, checkpoints, metrics log, plots, progress. */
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
export { fsyncWriter, resolveDir, writeDirAtomic, type DirWriteOptions, type DurableWriter } from './atomic-dir.ts';
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
  createProgress,
  type Progress,
  type ProgressInfo,
  type ProgressOptions,
  type ProgressStream,
} from './progress.ts';
// The task model, task data, config and evaluation a loop trains with (also the browser entry's `training`).
export * from './portable.ts';
