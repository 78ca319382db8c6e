/**
 * Training-state checkpoints: one folder with
 *   state.safetensors — every tensor, named by tree path (`params.prompt`, `opt.m.head.weight`), f32/f64/i32 exact;
 *   state.json        — steps, RNG key, data cursor, config, metrics so far, and the byte length and
 *                       sha256 of state.safetensors (so a mismatched pair is refused).
 * Written atomically (atomic-dir.ts). Loading checks every tensor's name, shape and dtype against a
 * template (the freshly initialised params and optimiser state) and reports all problems at once.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type * as TE from 'fp-ts/lib/TaskEither.js';
import * as t from 'io-ts';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import { tensor, treeLeaves, treeMap, type ParamTree, type PRNGKey, type Tensor } from '../core/index.ts';
import { decodeElements, isSourceDType } from '../models/bert/io/dtype-decode.ts';
import { fromThrown, loadError, type LoadError } from '../models/bert/load-error.ts';
import type { RawTensor } from '../models/bert/io/raw-tensor.ts';
import { readSafetensorsHeader, serializeSafetensors } from '../models/bert/io/safetensors.ts';
import { resolveDir, writeDirAtomic, type DirWriteOptions, type DurableWriter } from './atomic-dir.ts';
import { describeFsError, isErrnoError } from './fs-error.ts';
import { MetricRecordCodec, type MetricRecord } from './log.ts';
import type { OptState } from './optimizer.ts';

export const STATE_TENSORS = 'state.safetensors';
export const STATE_JSON = 'state.json';
export const STATE_FORMAT = 'promptgrad.train-state';

/** Position in the data order: the epoch (seeds its shuffle) and the next example index within it. */
export interface DataCursor {
  readonly epoch: number;
  readonly cursor: number;
}

export interface TrainState<P extends ParamTree = ParamTree, K extends string = string> {
  /** Trainable parameters (prompt, head, …). */
  readonly params: P;
  readonly opt: OptState<K>;
  readonly scheduleStep: number;
  /** Root key of the run; per-step keys are foldIn(key, step). */
  readonly key: PRNGKey;
  readonly data: DataCursor;
  /** The run's configuration, any JSON value. */
  readonly config: unknown;
  readonly metrics: readonly MetricRecord[];
}

/** What a checkpoint's tensors must look like: the freshly initialised params and optimiser state. */
export interface StateTemplate<P extends ParamTree, K extends string> {
  readonly params: P;
  readonly opt: OptState<K>;
}

export interface SaveError {
  readonly _tag: 'SaveError';
  readonly file: string;
  readonly message: string;
  /** The errno code (ENOSPC, EROFS, …) when the file system refused the write: the user's to fix. */
  readonly errno?: string;
}

const Count = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0, 'non-negative integer');
const U32 = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, 'u32');

export const StateJsonCodec = t.type({
  format: t.literal(STATE_FORMAT),
  version: t.literal(1),
  optimizerStep: Count,
  scheduleStep: Count,
  key: t.tuple([U32, U32]),
  data: t.type({ epoch: Count, cursor: Count }),
  config: t.unknown,
  metrics: t.array(MetricRecordCodec),
  tensors: t.type({ file: t.literal(STATE_TENSORS), bytes: Count, sha256: t.string }),
});
export type StateJson = t.TypeOf<typeof StateJsonCodec>;

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const tensorTree = (params: unknown, opt: OptState) => ({ params, opt: opt.slots });
const ST_DTYPE = { f32: 'F32', f64: 'F64', i32: 'I32' } as const;

export interface SaveOptions extends DirWriteOptions {
  /** Injectable file writer (failure tests); default opens, writes and fsyncs. */
  readonly writer?: DurableWriter;
  /** More files written in the same atomic folder (a multitask run's sampler.json); not the state's own names. */
  readonly extraFiles?: ReadonlyMap<string, Uint8Array>;
}

/** Serialises a state to the two files' bytes (reads tensors back with the async `data()`). */
export async function encodeState(state: TrainState): Promise<Map<string, Uint8Array>> {
  const raws: RawTensor[] = [];
  for (const { path, leaf } of treeLeaves(tensorTree(state.params, state.opt))) {
    raws.push({ name: path, dtype: leaf.dtype, shape: [...leaf.shape], data: await leaf.data() });
  }
  const bytes = serializeSafetensors(raws, { format: STATE_FORMAT });
  const json: StateJson = {
    format: STATE_FORMAT,
    version: 1,
    optimizerStep: state.opt.step,
    scheduleStep: state.scheduleStep,
    key: [state.key[0], state.key[1]],
    data: { epoch: state.data.epoch, cursor: state.data.cursor },
    config: state.config,
    metrics: [...state.metrics] as StateJson['metrics'], // undefined fields vanish in JSON
    tensors: { file: STATE_TENSORS, bytes: bytes.length, sha256: sha256(bytes) },
  };
  const jsonBytes = new TextEncoder().encode(
    `${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`,
  );
  return new Map([
    [STATE_TENSORS, bytes],
    [STATE_JSON, jsonBytes],
  ]);
}

/** Atomically writes `state` into the folder `dir` (replacing an older checkpoint only once complete). */
export const saveCheckpoint =
  (dir: string, state: TrainState, opts: SaveOptions = {}): TE.TaskEither<SaveError, void> =>
  async () => {
    try {
      const files = await encodeState(state);
      for (const [name, bytes] of opts.extraFiles ?? []) {
        if (files.has(name)) throw new Error(`extra file ${name} would replace the checkpoint's own ${name}`);
        files.set(name, bytes);
      }
      await writeDirAtomic(dir, files, opts.writer, opts);
      return E.right(undefined);
    } catch (e) {
      const detail = isErrnoError(e) ? describeFsError(e, e.path ?? dir) : e instanceof Error ? e.message : String(e);
      return E.left({
        _tag: 'SaveError',
        file: dir,
        message: `${dir}: checkpoint not written (${detail}); any previous checkpoint is intact`,
        ...(isErrnoError(e) ? { errno: e.code } : {}),
      });
    }
  };

/** Reads and validates state.json only (e.g. to rebuild the config before making a template). */
export const readStateJson =
  (dir: string): TE.TaskEither<LoadError, StateJson> =>
  async () => {
    const folder = await resolveDir(dir, STATE_JSON);
    const file = join(folder, STATE_JSON);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      return E.left(
        fromThrown(e instanceof SyntaxError ? 'format' : 'io', file, 'cannot read the checkpoint state', e),
      );
    }
    const decoded = StateJsonCodec.decode(json);
    return E.isLeft(decoded) ? E.left(loadError('format', file, PathReporter.report(decoded).join('; '))) : decoded;
  };

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Decodes and checks the tensors of state.safetensors against the template's leaves. */
function decodeTensors(
  bytes: Uint8Array,
  file: string,
  expected: ReadonlyMap<string, Tensor>,
): E.Either<LoadError, Map<string, Tensor>> {
  const header = readSafetensorsHeader(bytes, file);
  if (E.isLeft(header)) return header;
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const e of header.right.entries) {
    seen.add(e.name);
    const want = expected.get(e.name);
    if (!want) {
      problems.push(`unexpected tensor "${e.name}" ${fmt(e.shape)} ${e.dtype}`);
      continue;
    }
    if (e.dtype !== ST_DTYPE[want.dtype])
      problems.push(`tensor "${e.name}": dtype ${e.dtype}, expected ${ST_DTYPE[want.dtype]}`);
    if (e.shape.length !== want.shape.length || e.shape.some((d, i) => d !== want.shape[i])) {
      problems.push(`tensor "${e.name}": shape ${fmt(e.shape)}, expected ${fmt(want.shape)}`);
    }
  }
  for (const [name, want] of expected)
    if (!seen.has(name)) problems.push(`missing tensor "${name}" ${fmt(want.shape)} ${want.dtype}`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 12).join('; ') + (problems.length > 12 ? `; … ${problems.length - 12} more` : '');
    return E.left(loadError('weights', file, `does not match the expected training state: ${shown}`));
  }
  const out = new Map<string, Tensor>();
  for (const e of header.right.entries) {
    const want = expected.get(e.name)!;
    if (!isSourceDType(e.dtype)) return E.left(loadError('unsupported', file, `tensor "${e.name}": dtype ${e.dtype}`));
    const data = decodeElements(
      bytes.subarray(header.right.dataStart + e.begin, header.right.dataStart + e.end),
      e.dtype,
      want.dtype === 'f64' ? 'f64' : 'f32',
    );
    if (E.isLeft(data)) return E.left(loadError('format', file, `tensor "${e.name}": ${data.left}`));
    out.set(e.name, tensor(want.backend, data.right, { shape: e.shape, dtype: want.dtype }));
  }
  return E.right(out);
}

/**
 * Loads a checkpoint folder into fresh tensors on the template's backend. Errors name the file and,
 * for tensor problems, every offending tensor.
 */
export const loadCheckpoint =
  <P extends ParamTree, K extends string>(
    dir: string,
    template: StateTemplate<P, K>,
  ): TE.TaskEither<LoadError, TrainState<P, K>> =>
  async () => {
    const js = await readStateJson(dir)();
    if (E.isLeft(js)) return js;
    const meta = js.right;
    const file = join(await resolveDir(dir, STATE_JSON), STATE_TENSORS);
    let bytes: Uint8Array;
    try {
      // A plain Uint8Array copy: Buffer#slice is a view, which decodeElements' aligned fast path must not get.
      bytes = new Uint8Array(await readFile(file));
    } catch (e) {
      return E.left(fromThrown('io', file, 'cannot read the checkpoint tensors', e));
    }
    if (bytes.length !== meta.tensors.bytes || sha256(bytes) !== meta.tensors.sha256) {
      return E.left(
        loadError(
          'format',
          file,
          `${bytes.length} bytes, sha256 ${sha256(bytes).slice(0, 12)}… do not match ${STATE_JSON} (${meta.tensors.bytes} bytes, ${meta.tensors.sha256.slice(0, 12)}…): the two files come from different saves`,
        ),
      );
    }
    const expected = new Map(treeLeaves(tensorTree(template.params, template.opt)).map((l) => [l.path, l.leaf]));
    const loaded = decodeTensors(bytes, file, expected);
    if (E.isLeft(loaded)) return loaded;
    const get = (prefix: string) => (_t: Tensor, path: string) => loaded.right.get(`${prefix}.${path}`)!;
    const slotNames = Object.keys(template.opt.slots) as K[];
    const slots = Object.fromEntries(
      slotNames.map((k) => [k, treeMap(template.opt.slots[k], get(`opt.${k}`))]),
    ) as OptState<K>['slots'];
    return E.right({
      params: treeMap(template.params, get('params')),
      opt: { step: meta.optimizerStep, slots },
      scheduleStep: meta.scheduleStep,
      key: [meta.key[0], meta.key[1]] as const,
      data: meta.data,
      config: meta.config,
      metrics: meta.metrics,
    });
  };
