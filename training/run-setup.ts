/**
 * From a RunConfig to everything the loop needs: backend, frozen model, tokenizer, task data and the
 * task model. Loading failures come back as one RunSetupError with the file and field named.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Backend } from '../core/index.ts';
import { selectBackend } from '../core/backend/select.ts';
import { loadCheckpoint } from '../models/bert/io/checkpoint.ts';
import { readBertConfig, type BertConfig } from '../models/bert/config.ts';
import { BertModel } from '../models/bert/model.ts';
import type { RunConfig } from './run-config.ts';
import { loadTaskData, type TaskData } from './task-data.ts';
import { buildTaskModel, type TaskModel } from './task-model.ts';
import { loadPromptTokenizer } from './text-encoding.ts';
import { UsageError } from './usage-error.ts';

export { UsageError } from './usage-error.ts';

export interface RunSetup {
  readonly tm: TaskModel;
  readonly task: TaskData;
  readonly backendNote: string;
}

/** The run's backend (core/backend/select.ts); a failure to start one is a usage error naming the flag. */
export async function backendFor(
  choice: RunConfig['backend'],
  threads = 0,
): Promise<{ backend: Backend; note: string }> {
  try {
    return await selectBackend(choice, { threads });
  } catch (e) {
    throw new UsageError(
      `--backend ${choice}: ${e instanceof Error ? e.message : String(e)}; use --backend wasm (or cpu, the reference)`,
    );
  }
}

function checkModelFolder(folder: string): void {
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new UsageError(
      `--model ${folder}: no such folder (expected a Hugging Face model folder with config.json and weights)`,
    );
}

/** The model's config.json alone (cheap: for checks before the weights are loaded). */
export async function readModelConfig(folder: string): Promise<BertConfig> {
  checkModelFolder(folder);
  const c = await readBertConfig(join(folder, 'config.json'))();
  if (E.isLeft(c)) throw new UsageError(`--model: ${c.left.message}`);
  return c.right;
}

export async function loadModel(folder: string, dtype: RunConfig['dtype'], bk: Backend): Promise<BertModel> {
  checkModelFolder(folder);
  const ck = await loadCheckpoint(folder, dtype)();
  if (E.isLeft(ck)) throw new UsageError(`--model: ${ck.left.message}`);
  return BertModel.load(ck.right.weights, ck.right.config, bk, dtype);
}

export async function setupRun(cfg: RunConfig): Promise<RunSetup> {
  const task = await loadTaskData(cfg.task, cfg.data)();
  if (E.isLeft(task)) throw new UsageError(task.left.message);
  const { backend, note } = await backendFor(cfg.backend, cfg.threads);
  const model = await loadModel(cfg.model, cfg.dtype, backend);
  const tok = await loadPromptTokenizer(cfg.model)();
  if (E.isLeft(tok)) throw new UsageError(`--model: ${tok.left.message}`);
  return { tm: buildTaskModel(model, tok.right, task.right, cfg), task: task.right, backendNote: note };
}
