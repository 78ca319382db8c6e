import type { RunConfig } from '../../training/run-config.ts';

/**
 * Demo-task training defaults (tuned on the random encoder; see run-demo.ts), without the data folder:
 * `npm run demo` adds the folder on disk (encoder.ts), the browser page the folder's URL.
 */
export const DEMO_SETTINGS: Partial<RunConfig> = {
  task: 'custom',
  promptLength: 4,
  init: 'random',
  batchSize: 16,
  lr: 0.08,
  warmupRatio: 0.05,
  dropout: false,
  evalEvery: 25,
  checkpointEvery: 0,
  maxLength: 24,
  seed: 7,
};
