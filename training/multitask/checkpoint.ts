/**
 * A multitask run's checkpoint: the single-task checkpoint files (checkpoint.ts: every tensor of the
 * current and best multitask trees and of the optimiser slots, the key, the config, the metrics) plus
 * `sampler.json`, the mixing sampler's state (each task's draws, epoch and cursor), written in the same
 * atomic folder so a resume continues the same task draws and batches.
 *
 * The optimiser is one AdamW state per group (the shared part, each task's own part): a group is
 * updated only on steps that train it, with its own step count for bias correction, as if each task's
 * own parameters had their own optimiser. On disk the groups' slots form one tree mirroring the
 * parameters; the shared group's count is the run's step and each task's is its number of draws.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import type { ParamTree } from '../../core/index.ts';
import { resolveDir } from '../atomic-dir.ts';
import { loadCheckpoint, STATE_JSON, type StateTemplate, type TrainState } from '../checkpoint.ts';
import { saveCheckpointFenced, type Fence } from '../fenced-writes.ts';
import type { OptState } from '../optimizer.ts';
import type { SamplerState } from './mixing.ts';
import type { MultitaskParams } from './sharing.ts';

export const SAMPLER_JSON = 'sampler.json';

/** Per-group optimiser states: the shared part's (if any) and each task's. */
export interface GroupOpt {
  readonly shared?: OptState<'m' | 'v'>;
  readonly tasks: readonly OptState<'m' | 'v'>[];
}

export interface BothParams {
  readonly [k: string]: MultitaskParams;
  readonly current: MultitaskParams;
  readonly best: MultitaskParams;
}

export interface MultitaskState {
  readonly params: BothParams;
  readonly opt: GroupOpt;
  readonly sampler: SamplerState;
}

const Count = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0, 'non-negative integer');
const SamplerCodec = t.type({
  format: t.literal('promptgrad.multitask-sampler'),
  version: t.literal(1),
  taskNames: t.array(t.string),
  tasks: t.array(t.type({ draws: Count, epoch: Count, cursor: Count })),
});

/** The groups' slots as one tree mirroring the multitask parameters. */
export function joinOpt(opt: GroupOpt, names: readonly string[], step: number): OptState<'m' | 'v'> {
  const slot = (k: 'm' | 'v'): ParamTree => ({
    ...(opt.shared ? { shared: opt.shared.slots[k] } : {}),
    tasks: Object.fromEntries(names.map((n, i) => [n, opt.tasks[i]!.slots[k]])),
  });
  return { step, slots: { m: slot('m'), v: slot('v') } };
}

/** The inverse of joinOpt, with each task's step count from the sampler (its draws). */
export function splitOpt(opt: OptState<'m' | 'v'>, names: readonly string[], sampler: SamplerState): GroupOpt {
  const m = opt.slots.m as Record<string, ParamTree>,
    v = opt.slots.v as Record<string, ParamTree>;
  const tm = m['tasks'] as Record<string, ParamTree>,
    tv = v['tasks'] as Record<string, ParamTree>;
  return {
    ...(m['shared'] !== undefined ? { shared: { step: opt.step, slots: { m: m['shared'], v: v['shared']! } } } : {}),
    tasks: names.map((n, i) => ({ step: sampler.tasks[i]!.draws, slots: { m: tm[n]!, v: tv[n]! } })),
  };
}

/** Writes the checkpoint folder through the run's fence, as the single-task loop does (fenced-writes.ts). */
export async function saveMultitaskCheckpoint(
  dir: string,
  state: MultitaskState,
  rest: Omit<TrainState, 'params' | 'opt' | 'data' | 'scheduleStep'>,
  names: readonly string[],
  step: number,
  fence: Fence,
): Promise<void> {
  const ts: TrainState = {
    ...rest,
    params: state.params,
    opt: joinOpt(state.opt, names, step),
    scheduleStep: step,
    data: { epoch: 0, cursor: 0 }, // the data positions are per task, in sampler.json
  };
  const sampler = { format: 'promptgrad.multitask-sampler', version: 1, taskNames: names, tasks: state.sampler.tasks };
  const samplerBytes = new TextEncoder().encode(`${JSON.stringify(sampler, null, 2)}\n`);
  await saveCheckpointFenced(dir, ts, fence, new Map([[SAMPLER_JSON, samplerBytes]]));
}

export interface LoadedMultitask extends MultitaskState {
  readonly step: number;
  readonly metrics: TrainState['metrics'];
}

/** Loads a multitask checkpoint against the template (fresh params and optimiser slots tree). */
export async function loadMultitaskCheckpoint(
  dir: string,
  template: StateTemplate<BothParams, 'm' | 'v'>,
  names: readonly string[],
): Promise<LoadedMultitask> {
  const loaded = await loadCheckpoint(dir, template)();
  if (E.isLeft(loaded)) throw new Error(loaded.left.message);
  const file = join(await resolveDir(dir, STATE_JSON), SAMPLER_JSON);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read the mixing sampler's state (${e instanceof Error ? e.message : String(e)})`);
  }
  const s = SamplerCodec.decode(json);
  if (E.isLeft(s)) throw new Error(`${file}: ${PathReporter.report(s).join('; ')}`);
  if (s.right.taskNames.join(',') !== names.join(',') || s.right.tasks.length !== names.length)
    throw new Error(
      `${file}: the sampler holds tasks ${s.right.taskNames.join(', ')}, this run has ${names.join(', ')}`,
    );
  const sampler: SamplerState = { tasks: s.right.tasks };
  const draws = sampler.tasks.reduce((a, c) => a + c.draws, 0);
  if (draws !== loaded.right.opt.step)
    throw new Error(`${file}: ${draws} task draws, but the checkpoint is at step ${loaded.right.opt.step}`);
  return {
    params: loaded.right.params,
    opt: splitOpt(loaded.right.opt, names, sampler),
    sampler,
    step: loaded.right.opt.step,
    metrics: loaded.right.metrics,
  };
}
