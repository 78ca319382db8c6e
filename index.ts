/**
 * PromptGrad's public API. The core (tensors, ops, autograd, CPU backend) is exported flat; each
 * other layer as a namespace: `import { valueAndGrad, models, prompting } from 'promptgrad'`.
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
export * as models from './models/bert/index.ts';
export * as prompting from './prompting/index.ts';
export * as losses from './losses/index.ts';
export * as data from './data/index.ts';
export * as training from './training/index.ts';
