/**
 * From a RunConfig to everything the loop needs: backend, frozen model, tokenizer, task data and the
 * task model. Loading failures come back as one RunSetupError with the file and field named.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Backend } from '../core/index.ts';
import { cpuBackend } from '../core/index.ts';
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

export async function backendFor(
  choice: RunConfig['backend'],
  threads = 0,
): Promise<{ backend: Backend; note: string }> {
  if (choice === 'cpu') return { backend: cpuBackend(), note: 'cpu backend' };
  if (choice === 'wasm') {
    const { createWasmBackend } = await import('../core/backend/wasm/index.ts');
    const backend = createWasmBackend(threads > 0 ? { threads } : {});
    return {
      backend,
      note: `wasm backend (${backend.threads} thread${backend.threads === 1 ? '' : 's'}, ${backend.gemmShape.fma ? 'FMA' : 'mul+add'} GEMM)`,
    };
  }
  const select = await import('../core/backend/webgpu/select.ts').catch((e: unknown) => {
    throw new UsageError(
      `--backend ${choice}: the WebGPU backend cannot be loaded (${e instanceof Error ? e.message : String(e)}); use --backend cpu`,
    );
  });
  try {
    return await select.selectBackend(choice);
  } catch (e) {
    throw new UsageError(`--backend ${choice}: ${e instanceof Error ? e.message : String(e)}; use --backend cpu`);
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
