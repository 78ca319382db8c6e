/**
 * Loads a Hugging Face BERT / RoBERTa checkpoint folder: config.json plus weights from
 * model.safetensors, sharded safetensors (model.safetensors.index.json), or pytorch_model.bin
 * (single or sharded), in transformers' order of preference. Names are normalised
 * (`bert.` / `roberta.` prefix stripped, legacy LayerNorm gamma/beta renamed) and the encoder's
 * tensors are checked against the config before anything is returned.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { TaskEither } from 'fp-ts/lib/TaskEither.js';
import { joinPath as join, platformFiles } from '../../../io/platform.ts';
import { readBertConfig } from '../config.ts';
import type { BertConfig } from '../config.ts';
import { fromThrown, loadError, preview } from '../load-error.ts';
import type { LoadError } from '../load-error.ts';
import { renamed } from './raw-tensor.ts';
import type { FloatDType, RawTensor } from './raw-tensor.ts';
import { parseSafetensors } from './safetensors.ts';
import { parseTorchBin } from './torch-bin.ts';
import { requireAll, unusedNames, Weights } from '../weights.ts';
import { requiredBertWeights } from '../weight-spec.ts';

export type CheckpointFormat = 'safetensors' | 'safetensors-sharded' | 'pytorch-bin' | 'pytorch-bin-sharded';

export interface Checkpoint {
  readonly folder: string;
  readonly config: BertConfig;
  /** Normalised names → tensors (floats in the requested dtype, integer buffers as i32). */
  readonly tensors: ReadonlyMap<string, RawTensor>;
  readonly weights: Weights;
  readonly format: CheckpointFormat;
  /** Weight files read, relative to the folder. */
  readonly files: readonly string[];
  /** What was renamed, ignored or absent: worth showing a user, never an error. */
  readonly notes: readonly string[];
}

export interface LoadCheckpointOptions {
  /** Check the encoder tensors against the config (default true). */
  readonly validate?: boolean;
}

/** `bert.encoder…` → `encoder…`; legacy TF-converted `LayerNorm.gamma/beta` → `weight/bias`. */
export function normaliseName(name: string): string {
  let n = name;
  for (const p of ['bert.', 'roberta.'])
    if (n.startsWith(p)) {
      n = n.slice(p.length);
      break;
    }
  return n.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
}

/** Normalises names; two tensors landing on one name is an error (which one would win?). */
export function normaliseTensors(
  tensors: readonly RawTensor[],
  source: string,
): Either<LoadError, { readonly tensors: ReadonlyMap<string, RawTensor>; readonly notes: readonly string[] }> {
  const out = new Map<string, RawTensor>();
  const origin = new Map<string, string>();
  let stripped = 0;
  let legacy = 0;
  for (const t of tensors) {
    const n = normaliseName(t.name);
    const prev = origin.get(n);
    if (prev !== undefined)
      return E.left(loadError('weights', source, `tensors "${prev}" and "${t.name}" both normalise to "${n}"`));
    origin.set(n, t.name);
    if (n !== t.name) {
      if (/^(bert|roberta)\./.test(t.name)) stripped++;
      if (/\.(gamma|beta)$/.test(t.name)) legacy++;
    }
    out.set(n, n === t.name ? t : renamed(t, n));
  }
  const notes = [
    ...(stripped ? [`stripped the bert./roberta. prefix from ${stripped} tensor names`] : []),
    ...(legacy ? [`renamed ${legacy} legacy gamma/beta tensors to weight/bias`] : []),
  ];
  return E.right({ tensors: out, notes });
}

const exists = (p: string): Promise<boolean> => platformFiles.isFile(p);
const readBytes = (path: string): TaskEither<LoadError, Uint8Array> =>
  TE.tryCatch(
    () => platformFiles.readBytes(path),
    (e) => fromThrown('io', path, 'cannot read', e),
  );

type Parser = (bytes: Uint8Array, file: string, dtype: FloatDType) => Either<LoadError, readonly RawTensor[]>;
const safetensorsParser: Parser = (b, f, dtype) =>
  E.map((x: { tensors: readonly RawTensor[] }) => x.tensors)(parseSafetensors(b, f, { floatDtype: dtype }));
const binParser: Parser = (b, f, dtype) => parseTorchBin(b, f, { floatDtype: dtype });

/** Reads an index.json's weight_map and every shard it names; each listed tensor must be in its shard. */
function loadSharded(
  folder: string,
  indexName: string,
  parse: Parser,
  dtype: FloatDType,
): TaskEither<LoadError, { tensors: RawTensor[]; files: string[] }> {
  const indexPath = join(folder, indexName);
  return TE.flatMap(readBytes(indexPath), (bytes) => {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      return TE.left(fromThrown('format', indexPath, 'not valid JSON', e));
    }
    const map = (json as { weight_map?: unknown } | null)?.weight_map;
    if (
      typeof map !== 'object' ||
      map === null ||
      Array.isArray(map) ||
      !Object.values(map).every((v) => typeof v === 'string')
    ) {
      return TE.left(
        loadError(
          'format',
          indexPath,
          `field "weight_map": expected an object of tensor name → shard file, got ${preview(map)}`,
        ),
      );
    }
    const weightMap = map as Record<string, string>;
    const shards = [...new Set(Object.values(weightMap))].sort();
    const bad = shards.find((s) => s === '' || /[/\\]/.test(s) || s === '.' || s === '..');
    if (bad !== undefined)
      return TE.left(
        loadError('format', indexPath, `shard name ${preview(bad)} must be a plain file name in the folder`),
      );
    return async () => {
      const all: RawTensor[] = [];
      const seen = new Map<string, string>();
      for (const shard of shards) {
        const path = join(folder, shard);
        const read = await readBytes(path)();
        if (E.isLeft(read)) return read;
        const parsed = parse(read.right, path, dtype);
        if (E.isLeft(parsed)) return parsed;
        for (const t of parsed.right) {
          const other = seen.get(t.name);
          if (other !== undefined) return E.left(loadError('weights', path, `tensor "${t.name}" is also in ${other}`));
          seen.set(t.name, shard);
          all.push(t);
        }
      }
      const lost = Object.entries(weightMap).find(([name, shard]) => seen.get(name) !== shard);
      if (lost)
        return E.left(
          loadError(
            'weights',
            join(folder, lost[1]),
            `${indexName} places tensor "${lost[0]}" in this shard, which lacks it`,
          ),
        );
      return E.right({ tensors: all, files: [indexName, ...shards] });
    };
  });
}

const CANDIDATES: readonly (readonly [string, CheckpointFormat])[] = [
  ['model.safetensors', 'safetensors'],
  ['model.safetensors.index.json', 'safetensors-sharded'],
  ['pytorch_model.bin', 'pytorch-bin'],
  ['pytorch_model.bin.index.json', 'pytorch-bin-sharded'],
];

/** Loads config + weights from a checkpoint folder; floats are converted to `dtype`. */
export function loadCheckpoint(
  folder: string,
  dtype: FloatDType = 'f32',
  opts: LoadCheckpointOptions = {},
): TaskEither<LoadError, Checkpoint> {
  return async () => {
    const config = await readBertConfig(join(folder, 'config.json'))();
    if (E.isLeft(config)) return config;
    const present: (readonly [string, CheckpointFormat])[] = [];
    for (const c of CANDIDATES) if (await exists(join(folder, c[0]))) present.push(c);
    const chosen = present[0];
    if (!chosen)
      return E.left(loadError('io', folder, `no weights found (looked for ${CANDIDATES.map((c) => c[0]).join(', ')})`));
    const [file, format] = chosen;
    const notes: string[] = [];
    if (present.length > 1)
      notes.push(
        `using ${file}; also present: ${present
          .slice(1)
          .map((c) => c[0])
          .join(', ')}`,
      );
    let loaded: Either<LoadError, { tensors: readonly RawTensor[]; files: string[] }>;
    if (format === 'safetensors' || format === 'pytorch-bin') {
      const path = join(folder, file);
      const bytes = await readBytes(path)();
      loaded = E.isLeft(bytes)
        ? bytes
        : E.map((tensors: readonly RawTensor[]) => ({ tensors, files: [file] }))(
            (format === 'safetensors' ? safetensorsParser : binParser)(bytes.right, path, dtype),
          );
    } else {
      loaded = await loadSharded(
        folder,
        file,
        format === 'safetensors-sharded' ? safetensorsParser : binParser,
        dtype,
      )();
    }
    if (E.isLeft(loaded)) return loaded;
    const source = join(folder, file);
    const norm = normaliseTensors(loaded.right.tensors, source);
    if (E.isLeft(norm)) return norm;
    notes.push(...norm.right.notes);
    const { tensors } = norm.right;
    const spec = requiredBertWeights(config.right, { pooler: 'optional', mlmHead: 'optional' });
    if (opts.validate ?? true) {
      const checked = requireAll(tensors, spec, source);
      if (E.isLeft(checked))
        return E.left(loadError('weights', source, `does not match config.json: ${checked.left.detail}`));
    }
    if (!tensors.has('pooler.dense.weight')) notes.push('no pooler weights (pooler.dense.*)');
    const head = config.right.modelType === 'roberta' ? 'lm_head' : 'cls.predictions';
    if (tensors.has(`${head}.bias`) && !tensors.has(`${head}.decoder.weight`))
      notes.push(`${head}.decoder.weight absent: tied to embeddings.word_embeddings.weight`);
    const unused = unusedNames(tensors, spec);
    if (unused.length)
      notes.push(
        `${unused.length} tensors not used by the encoder or its heads: ${unused.slice(0, 20).join(', ')}${unused.length > 20 ? ', …' : ''}`,
      );
    return E.right({
      folder,
      config: config.right,
      tensors,
      weights: new Weights(tensors, source),
      format,
      files: loaded.right.files,
      notes,
    });
  };
}
