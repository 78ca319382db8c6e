/** `--config <file.json>`: a run config's options from a JSON file (Node: read from disk, synchronously). */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { configError, decodePartial, type ConfigError, type RunConfig } from './run-config.ts';

/** Reads a JSON config file as a partial config. */
export function readConfigFile(path: string): Either<ConfigError, Partial<RunConfig>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return E.left(configError(path, '(file)', `cannot read: ${e instanceof Error ? e.message : String(e)}`));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return E.left(configError(path, '(file)', `not JSON: ${e instanceof Error ? e.message : String(e)}`));
  }
  return decodePartial(json, path);
}
