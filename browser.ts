/**
 * PromptGrad's browser entry (package.json exports condition "browser", built to dist/browser.js):
 * the same core, models, prompting, losses and data as `index.ts`, with WebGPU from `navigator.gpu` and
 * files fetched from URLs or dropped by the user (`io`). What needs a file system stays Node-only:
 * writing run folders, checkpoints and metrics logs, adapter folders on disk, the terminal progress bar
 * and the CLI's training loop (browser-entry.test.ts lists them). A browser trains with the pieces in
 * `training` and zips an adapter from `prompting.peftAdapterFiles`.
 */
export * from './core/index.ts';
export { selectBackend, type BackendChoice } from './core/backend/webgpu/select.ts';
export * as models from './models/bert/index.ts';
export * as prompting from './prompting/portable.ts';
export * as losses from './losses/index.ts';
export * as data from './data/index.ts';
export * as training from './training/portable.ts';
export * as io from './io/index.ts';
