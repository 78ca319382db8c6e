/**
 * The scoped weights view the encoder modules load from, as candle's VarBuilder (`vb.pp("self")`):
 * `BertSelfAttention.load(w.at('self'), cfg)` reads `…attention.self.query.weight` without any module
 * building a name by hand. Where the tensors come from is a TensorProvider: a checkpoint uploaded as
 * frozen constants (collecting every missing or misshapen tensor into one error that names the file),
 * live parameter tensors (pretraining), or a recorder that lists every name and shape the loaders ask for
 * (weight-spec.ts), so the list of required weights is derived from the loaders rather than kept twice.
 */
import { cast, full, int8Weight, keep, tensor, type Backend, type FloatDType, type Tensor } from '../../core/index.ts';
import type { AnyTensor, Int8Weight } from '../../core/index.ts';
import { formatShape, shapeEquals, type RawTensor } from './io/raw-tensor.ts';
import { LoadFailure, loadError } from './load-error.ts';

/** Anything that hands out checkpoint tensors by (normalised) name with a shape check. */
export interface WeightSource {
  get(name: string, shape: readonly number[]): RawTensor;
  has(name: string): boolean;
  /** The stored shape, without reading the data (absent when the source cannot tell). */
  shapeOf?(name: string): readonly number[] | undefined;
  /** File or folder, for error messages. */
  readonly source?: string;
}

/**
 * How the frozen dense-layer weights are stored: `f32` as loaded, `f16` (half the memory and
 * bandwidth; matmul reads the halves and accumulates in f32), or `int8` (a quarter; 7-bit symmetric
 * codes per output channel, inputs quantized per row on the fly, integer products: core/tensor/int8.ts).
 * Embeddings, LayerNorms and biases stay f32.
 */
export type WeightStorage = 'f32' | 'f16' | 'int8';
export const WEIGHT_STORAGES: readonly WeightStorage[] = ['f32', 'f16', 'int8'];

/** The parts of a checkpoint that may be absent: BERT's pooler and the MLM head. */
export type OptionalPart = 'pooler' | 'mlmHead';

/** Where a loader's tensors come from (full checkpoint names; `optional`: the loader copes without it). */
export interface TensorProvider {
  readonly bk: Backend;
  readonly dtype: FloatDType;
  has(name: string): boolean;
  /** The tensor as the model holds it (the model's dtype). */
  tensor(name: string, shape: readonly number[], optional: boolean): Tensor;
  /** A dense weight quantized to int8 from the host data. */
  int8(name: string, shape: readonly [number, number]): Int8Weight;
  /** A tensor tied to one the loader reads (MLM decoder): checked when present, never loaded. */
  tied(name: string, shape: readonly number[]): void;
  /** Whether to load an optional part, and whether its tensors are then optional. */
  part(kind: OptionalPart, probe: string): 'absent' | 'required' | 'optional';
}

export interface ScopeOptions {
  readonly weightStorage?: WeightStorage;
  /** Dense layers (by checkpoint prefix, e.g. `encoder.layer.3.output.dense`) kept f32 under f16/int8 storage. */
  readonly keepF32?: (prefix: string) => boolean;
}

export class WeightScope {
  constructor(
    private readonly provider: TensorProvider,
    /** Checkpoint prefix of this scope, '' at the root. */
    readonly path = '',
    private readonly opts: ScopeOptions = {},
    private readonly optionalPart = false,
  ) {}

  get bk(): Backend {
    return this.provider.bk;
  }
  get dtype(): FloatDType {
    return this.provider.dtype;
  }

  /** A view one segment deeper: `at('encoder').at('layer').at(3)` reads `encoder.layer.3.*`. */
  at(segment: string | number): WeightScope {
    return new WeightScope(this.provider, this.name(String(segment)), this.opts, this.optionalPart);
  }

  /** Full checkpoint name of `leaf` in this scope. */
  name(leaf: string): string {
    return this.path ? `${this.path}.${leaf}` : leaf;
  }

  has(leaf: string): boolean {
    return this.provider.has(this.name(leaf));
  }

  tensor(leaf: string, shape: readonly number[]): Tensor {
    return this.provider.tensor(this.name(leaf), shape, this.optionalPart);
  }

  /** A tensor the loader uses when present (an untied decoder). */
  optional(leaf: string, shape: readonly number[]): Tensor | undefined {
    return this.has(leaf) ? this.provider.tensor(this.name(leaf), shape, true) : undefined;
  }

  tied(leaf: string, shape: readonly number[]): void {
    this.provider.tied(this.name(leaf), shape);
  }

  /** The model's dense-weight storage. */
  get weightStorage(): WeightStorage {
    return this.opts.weightStorage ?? 'f32';
  }

  /** How this scope's dense weight is stored: the model's storage, unless `keepF32` names this layer. */
  get denseStorage(): WeightStorage {
    return this.opts.keepF32?.(this.path) ? 'f32' : this.weightStorage;
  }

  /** A dense weight [out, in] in this scope's storage: f32 as loaded, f16 halves, or int8 codes. */
  denseWeight(leaf: string, shape: readonly [number, number]): AnyTensor | Int8Weight {
    const storage = this.denseStorage;
    if (storage === 'int8') return this.provider.int8(this.name(leaf), shape);
    const w = this.tensor(leaf, shape);
    if (storage === 'f32') return w;
    const half = keep(cast(w, 'f16'));
    w.dispose();
    return half;
  }

  /** The same scope with another dense-weight storage (the pooler stays f32 under int8). */
  withStorage(weightStorage: WeightStorage): WeightScope {
    return new WeightScope(this.provider, this.path, { ...this.opts, weightStorage }, this.optionalPart);
  }

  /** An optional part (`segment`, present when `probe` inside it is): loaded by `load`, or undefined. */
  part<T>(kind: OptionalPart, segment: string, probe: string, load: (w: WeightScope) => T): T | undefined {
    const w = this.at(segment);
    const mode = this.provider.part(kind, w.name(probe));
    if (mode === 'absent') return undefined;
    return load(new WeightScope(this.provider, w.path, this.opts, this.optionalPart || mode === 'optional'));
  }
}

/**
 * A checkpoint's tensors uploaded as frozen constants (kept out of every scope). A missing or misshapen
 * tensor does not stop the load: each is noted (a zero stand-in takes its place) and `finish` throws one
 * error naming the source and every problem, so a wrong config/checkpoint pair is reported in one go.
 */
export class CheckpointTensors implements TensorProvider {
  private readonly missing: string[] = [];
  private readonly wrong: string[] = [];
  constructor(
    private readonly src: WeightSource,
    readonly bk: Backend,
    readonly dtype: FloatDType,
  ) {}

  has(name: string): boolean {
    return this.src.has(name);
  }

  /** Whether `name` can be read with `shape`; notes the problem otherwise. */
  private check(name: string, shape: readonly number[]): boolean {
    if (!this.src.has(name)) {
      this.missing.push(`${name} ${formatShape(shape)}`);
      return false;
    }
    const stored = this.src.shapeOf?.(name);
    if (stored && !shapeEquals(stored, shape)) {
      this.wrong.push(`${name}: want ${formatShape(shape)}, got ${formatShape(stored)}`);
      return false;
    }
    return true;
  }

  tensor(name: string, shape: readonly number[]): Tensor {
    if (!this.check(name, shape)) return keep(full(this.bk, shape, 0, this.dtype));
    const raw = this.src.get(name, shape);
    return keep(tensor(this.bk, raw.data, { shape: raw.shape, dtype: this.dtype }));
  }

  int8(name: string, shape: readonly [number, number]): Int8Weight {
    const data = this.check(name, shape) ? this.src.get(name, shape).data : new Float32Array(shape[0] * shape[1]);
    return int8Weight(this.bk, data, shape, name);
  }

  tied(name: string, shape: readonly number[]): void {
    if (this.src.has(name)) this.check(name, shape);
  }

  part(_kind: OptionalPart, probe: string): 'absent' | 'required' {
    return this.src.has(probe) ? 'required' : 'absent';
  }

  /** Throws one LoadFailure listing every missing and misshapen tensor, after `cleanup` frees what was loaded. */
  finish(cleanup: () => void): void {
    if (this.missing.length === 0 && this.wrong.length === 0) return;
    cleanup();
    const parts = [
      ...(this.missing.length ? [`${this.missing.length} missing: ${this.missing.join(', ')}`] : []),
      ...(this.wrong.length ? [`${this.wrong.length} wrong: ${this.wrong.join('; ')}`] : []),
    ];
    throw new LoadFailure(loadError('weights', this.src.source ?? 'checkpoint', parts.join('. ')));
  }
}
