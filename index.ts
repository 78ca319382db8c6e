/**
 * PromptGrad's public API. The core (tensors, ops, autograd, CPU backend) is exported flat, with the
 * backend selector and the run-level API (config, setup, train, evaluate, predict, run folders, PEFT
 * adapters); each layer also as a namespace: `import { valueAndGrad, train, models, prompting } from 'promptgrad'`.
 */
export * from './core/index.ts';
export {
  BACKEND_CHOICES,
  isBackendChoice,
  isSoftwareAdapter,
  selectBackend,
  type BackendChoice,
  type BackendKind,
  type SelectedBackend,
  type SelectOptions,
} from './core/backend/select.ts';
export { BUNDLED_FEWGLUE } from './data/bundled.ts';
export { DEMO_ENCODER } from './models/bundled.ts';
export {
  exportAdapter,
  loadRun,
  runConfig,
  type ExportAdapterOptions,
  type LoadedRun,
  type RunOptions,
} from './training/run-api.ts';
export { setupRun, type RunSetup } from './training/run-setup.ts';
export { removeRunFolder } from './training/run-folder.ts';
export { setupMultitaskRun, type MultitaskSetup } from './training/multitask/setup.ts';
export { buildMultitaskModel, type MultitaskModel, type MultitaskTask } from './training/multitask/model.ts';
export { trainMultitask, type MultitaskTrainResult } from './training/multitask/train.ts';
export { DEFAULTS, DROPOUT_DEFAULTS, METHODS, type MethodName, type RunConfig } from './training/run-config.ts';
export {
  RUN_FILES,
  train,
  type EvalInfo,
  type StepInfo,
  type TrainOptions,
  type TrainResult,
} from './training/loop.ts';
export { evaluate, logitsOf, type EvalResult } from './training/evaluate.ts';
export { predict, textExamples, type Prediction, type TextInput } from './training/predict.ts';
export { buildTaskModel, type TaskModel, type TrainParams } from './training/task-model.ts';
export { loadTaskData, type Example, type TaskData } from './training/task-data.ts';
export { UsageError } from './training/usage-error.ts';
export { NonFiniteError } from './training/nan-guard.ts';
export {
  exportPeftAdapter,
  importPeftAdapter,
  type ExportOptions,
  type ImportedAdapter,
  type ImportOptions,
  type PeftAdapterConfig,
} from './prompting/peft-adapter.ts';
export * as models from './models/bert/index.ts';
export * as prompting from './prompting/index.ts';
export * as losses from './losses/index.ts';
export * as data from './data/index.ts';
export * as training from './training/index.ts';
