/** Public API of the data layer: FewGLUE and user data loading, templates, metrics, sampling. */
export * from './fewglue.ts';
export { dataError, fromValidation } from './errors.ts';
export type { DataErrorKind } from './errors.ts';
export type { Parsed } from './jsonl.ts';
export { decodeUtf8Strict, parseJsonLines, readText, splitLines } from './jsonl.ts';
export * from './templates.ts';
export * from './metrics.ts';
export * from './generic.ts';
export * from './csv.ts';
export * from './sampling.ts';
