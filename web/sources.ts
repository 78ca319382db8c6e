/**
 * Where the page's model and task come from: folders served next to the page (the bundled demo
 * encoder, the demo task, FewGLUE), or files the user dropped, mounted as `mem://` folders.
 */
import { io } from '../browser.ts';
import { DEMO_SETTINGS } from '../examples/demo/settings.ts';
import type { SessionOptions } from './session.ts';

/** The page sits in web/; the repository's folders are served beside it (npm run web serves the root). */
export const DEMO_ENCODER = '../models/demo-encoder';
export const DEMO_TASK = '../examples/demo/data';
export const FEWGLUE = '../datasets/fewglue';

export type TaskChoice = 'demo' | 'jsonl' | 'BoolQ' | 'CB' | 'COPA' | 'MultiRC' | 'RTE' | 'WiC' | 'WSC';

/** A dropped Hugging Face folder: its files by name (config.json, model.safetensors, tokenizer.json, …). */
export function mountModel(files: readonly File[]): string {
  const names = new Set(files.map((f) => f.name));
  const missing = ['config.json'].filter((n) => !names.has(n));
  if (!names.has('model.safetensors') && !names.has('model.safetensors.index.json') && !names.has('pytorch_model.bin'))
    missing.push('model.safetensors');
  if (!names.has('tokenizer.json') && !names.has('vocab.txt') && !names.has('vocab.json'))
    missing.push('tokenizer.json');
  if (missing.length)
    throw new Error(
      `the dropped model folder has no ${missing.join(', ')} (have: ${[...names].join(', ') || 'nothing'})`,
    );
  return io.mountFiles(
    'dropped-model',
    files.map((f) => [f.name, f] as const),
  );
}

/**
 * A dropped task: train.jsonl + dev32.jsonl + val.jsonl as they are, or a single JSONL file (fields
 * text, optional text_pair, label) split 80 / 10 / 10 in a seeded order into those three.
 */
export async function mountTask(files: readonly File[]): Promise<string> {
  const byName = new Map(files.map((f) => [f.name, f]));
  if (['train.jsonl', 'dev32.jsonl', 'val.jsonl'].every((n) => byName.has(n)))
    return io.mountFiles(
      'dropped-task',
      files.map((f) => [f.name, f] as const),
    );
  if (files.length !== 1)
    throw new Error(
      `drop one JSONL file (it is split 80/10/10), or train.jsonl + dev32.jsonl + val.jsonl; got ${files.map((f) => f.name).join(', ')}`,
    );
  const lines = (await files[0]!.text()).split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 10)
    throw new Error(`${files[0]!.name}: ${lines.length} examples; at least 10 are needed to split it`);
  // a fixed-seed shuffle (xorshift) so the same file always gives the same splits
  let s = 0x9e3779b9;
  const rand = () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), (s >>> 0) / 2 ** 32);
  const order = lines.map((l) => [rand(), l] as const).sort((a, b) => a[0] - b[0]);
  const nDev = Math.max(1, Math.round(lines.length * 0.1));
  const part = (a: number, b: number) =>
    `${order
      .slice(a, b)
      .map(([, l]) => l)
      .join('\n')}\n`;
  return io.mountFiles('dropped-task', [
    ['dev32.jsonl', part(0, nDev)],
    ['val.jsonl', part(nDev, 2 * nDev)],
    ['train.jsonl', part(2 * nDev, order.length)],
  ]);
}

/** The session's model, task and settings for the page's choices (the demo task gets the demo's settings). */
export function sessionFor(
  model: string,
  task: TaskChoice,
  taskFolder: string | undefined,
  settings: SessionOptions['config'],
): Omit<SessionOptions, 'backend'> {
  if (task === 'demo') return { model, task: 'custom', data: DEMO_TASK, config: { ...DEMO_SETTINGS, ...settings } };
  if (task === 'jsonl') {
    if (!taskFolder) throw new Error('choose or drop a JSONL file for the task first');
    return { model, task: 'custom', data: taskFolder, config: settings };
  }
  return { model, task, data: FEWGLUE, config: settings };
}
