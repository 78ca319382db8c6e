/**
 * What the tasks of a multitask run share (`--share`), as a split of the prompt method's parameter tree
 * by its top-level keys. The heads (and their label sets) are always per task.
 *   none    every key per task: N independent prompts trained in one run;
 *   prompt  every key shared, except dynamic prompting's task-level choice logits (`position` /
 *           `length` at level `task`): each task learns its own choice, the paper's task-level choice
 *           made per task in one run. Instance-level choice networks read the input and stay shared;
 *   pool    dynamic prompting's prompt pool shared (`prompt` [k, m, d] and the pool's mixing network
 *           `pool`, which sees the input, so tasks can use different mixtures); position and length
 *           choices (logits or networks) per task.
 *
 * The multitask tree: `{ shared?: {key: …}, tasks: { <task>: { prompt: {key: …}, head? } } }`; a task's
 * full single-task tree `{ prompt, head? }` is the shared keys merged with its own (the same tensors, so
 * gradients of the task's loss reach the shared leaves and that task's own leaves, nothing else).
 */
import type { ParamTree } from '../../core/index.ts';
import type { RunConfig, ShareName } from '../run-config.ts';
import type { TrainParams } from '../task-model.ts';

/** A task's own parameters: its part of the prompt tree and its head. */
export interface TaskOwnParams {
  readonly [k: string]: ParamTree;
  readonly prompt: { readonly [k: string]: ParamTree };
}

export interface MultitaskParams {
  readonly [k: string]: ParamTree;
  readonly tasks: { readonly [task: string]: TaskOwnParams };
}

/** The prompt keys shared by every task under `share` (the rest are per task). */
export function sharedKeys(
  share: ShareName,
  cfg: Pick<RunConfig, 'method' | 'dynamicPosition' | 'dynamicLength'>,
  keys: readonly string[],
): readonly string[] {
  if (share === 'none') return [];
  if (share === 'pool') return keys.filter((k) => k === 'prompt' || k === 'pool');
  const taskLevel = (k: string) =>
    cfg.method === 'dynamic' &&
    ((k === 'position' && cfg.dynamicPosition === 'task') || (k === 'length' && cfg.dynamicLength === 'task'));
  return keys.filter((k) => !taskLevel(k));
}

const asRecord = (t: ParamTree, what: string): { readonly [k: string]: ParamTree } => {
  if (typeof t !== 'object' || t === null || Array.isArray(t) || 'shape' in t)
    throw new TypeError(`${what}: the prompt method's parameters must be a tree of named parts`);
  return t as { readonly [k: string]: ParamTree };
};

/** Splits one task's fresh single-task tree into the shared part and its own part. */
export function splitTaskParams(
  p: TrainParams,
  keysShared: readonly string[],
): { readonly shared: { readonly [k: string]: ParamTree }; readonly own: TaskOwnParams } {
  const prompt = asRecord(p.prompt, 'multitask');
  const shared: Record<string, ParamTree> = {},
    own: Record<string, ParamTree> = {};
  for (const [k, v] of Object.entries(prompt)) (keysShared.includes(k) ? shared : own)[k] = v;
  const { prompt: _prompt, ...rest } = p;
  return { shared, own: { prompt: own, ...rest } };
}

/** One task's single-task tree `{ prompt, head? }` from the shared part and its own part (same tensors). */
export function taskParams(shared: ParamTree | undefined, own: TaskOwnParams): TrainParams {
  const { prompt, ...rest } = own;
  return { prompt: { ...(shared ? asRecord(shared, 'multitask shared') : {}), ...prompt }, ...rest };
}

/** `shared` of the multitask tree, when the run shares anything. */
export const sharedOf = (p: MultitaskParams): ParamTree | undefined => p['shared'];

/** What `--share` means, for the run's summary line. */
export const describeShare = (share: ShareName): string =>
  ({
    none: 'one prompt per task',
    prompt: 'one prompt shared by every task',
    pool: 'one prompt pool shared by every task, mixed per instance',
  })[share];
