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
  /** The frozen weights' storage the run got (weightStorageFor: int8 may fall back, and backendNote says so). */
  readonly weights: RunConfig['weights'];
}

/**
 * The run's backend (core/backend/select.ts); a failure to start one is a usage error naming the flag.
 * `auto` also heeds what the run needs: f64 runs on the cpu reference (wasm and webgpu compute f32), so
 * it skips the WebGPU probe.
 */
export async function backendFor(
  choice: RunConfig['backend'],
  threads = 0,
  needs: Partial<Pick<RunConfig, 'dtype'>> = {},
): Promise<{ backend: Backend; note: string }> {
  try {
    if (choice === 'auto' && needs.dtype === 'f64') {
      const { backend, note } = await selectBackend('cpu');
      return { backend, note: `auto: f64 runs on the reference, so the ${note}` };
    }
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

export async function loadModel(
  folder: string,
  dtype: RunConfig['dtype'],
  bk: Backend,
  weights: RunConfig['weights'] = 'f32',
  dropout: RunConfig['dropout'] = true,
): Promise<BertModel> {
  checkModelFolder(folder);
  if (weights !== 'f32' && dtype !== 'f32')
    throw new UsageError(`--weights ${weights}: needs --dtype f32 (got ${dtype}); its products are f32`);
  if (weights === 'int8' && (!bk.int8Matmul || bk.int8Refusal))
    throw new UsageError(
      `--weights int8: the ${bk.name} backend ${bk.int8Refusal ? `here: ${bk.int8Refusal}` : 'has no int8 products'}; use --backend cpu or wasm`,
    );
  if (weights === 'f16' && !bk.dtypes.has('f16'))
    throw new UsageError(`--weights f16: the ${bk.name} backend here cannot store f16 (no shader-f16)`);
  const ck = await loadCheckpoint(folder, dtype)();
  if (E.isLeft(ck)) throw new UsageError(`--model: ${ck.left.message}`);
  // A dropout rate p replaces the checkpoint's hidden, attention and classifier rates (true keeps them).
  const config =
    typeof dropout === 'number' && dropout > 0
      ? {
          ...ck.right.config,
          hiddenDropoutProb: dropout,
          attentionProbsDropoutProb: dropout,
          classifierDropout: dropout,
        }
      : ck.right.config;
  return BertModel.load(ck.right.weights, config, bk, dtype, { weightStorage: weights });
}

/**
 * The frozen weights' storage a run gets on `bk` for `--weights asked`: the same, except int8 on a backend
 * that has the int8 products but not on this device (WebGPU without WGSL's dot4I8Packed), which runs f16
 * (with shader-f16) or f32 as before int8 existed, and `note` says so: the fallback is never silent.
 */
export function weightStorageFor(
  bk: Backend,
  asked: RunConfig['weights'],
): { readonly weights: RunConfig['weights']; readonly note?: string } {
  if (asked !== 'int8' || !bk.int8Matmul || !bk.int8Refusal) return { weights: asked };
  const weights = bk.dtypes.has('f16') ? 'f16' : 'f32';
  return { weights, note: `--weights int8 not run: ${bk.int8Refusal}; the frozen weights are ${weights} instead` };
}

export async function setupRun(cfg: RunConfig): Promise<RunSetup> {
  const task = await loadTaskData(cfg.task, cfg.data)();
  if (E.isLeft(task)) throw new UsageError(task.left.message);
  const { backend, note } = await backendFor(cfg.backend, cfg.threads, cfg);
  const storage = weightStorageFor(backend, cfg.weights);
  const model = await loadModel(cfg.model, cfg.dtype, backend, storage.weights, cfg.dropout);
  const tok = await loadPromptTokenizer(cfg.model)();
  if (E.isLeft(tok)) throw new UsageError(`--model: ${tok.left.message}`);
  // which integer kernel runs the int8 products (the numbers are the same on every kernel, the speed is not)
  const kernel = storage.weights === 'int8' && backend.int8Kernel ? `int8 products: ${backend.int8Kernel}` : undefined;
  const notes = [storage.note, kernel].filter((n): n is string => n !== undefined);
  return {
    tm: buildTaskModel(model, tok.right, task.right, cfg),
    task: task.right,
    backendNote: notes.length > 0 ? `${note} (${notes.join('; ')})` : note,
    weights: storage.weights,
  };
}
