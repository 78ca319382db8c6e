/**
 * Named access to checkpoint tensors for the encoder: `w.at('encoder').at('layer').at(0)
 * .get('attention.self.query.weight', [H, H])` fails loudly with the full name and both shapes;
 * `requireAll` checks a whole spec at once and lists every problem, so a mismatched
 * config/checkpoint pair is reported in one go rather than one missing tensor per run.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { LoadFailure, loadError } from './load-error.ts';
import type { LoadError } from './load-error.ts';
import { formatShape, shapeEquals } from './io/raw-tensor.ts';
import type { RawTensor } from './io/raw-tensor.ts';

export interface WeightReqOptions {
  /** Absent is fine (tied MLM decoder, pooler of an MLM checkpoint); present must match. */
  readonly optional?: boolean;
  /** Element kind required; default 'float'. */
  readonly kind?: 'float' | 'int';
}
export type WeightReq = readonly [name: string, shape: readonly number[], opts?: WeightReqOptions];
export type WeightSpec = readonly WeightReq[];

const kindOf = (t: RawTensor): 'float' | 'int' => (t.dtype === 'i32' ? 'int' : 'float');

/** Checks every entry of `spec`; the error lists all missing names and all mismatches. */
export function requireAll(
  tensors: ReadonlyMap<string, RawTensor>,
  spec: WeightSpec,
  source: string,
  prefix = '',
): Either<LoadError, ReadonlyMap<string, RawTensor>> {
  const missing: string[] = [];
  const wrong: string[] = [];
  const found = new Map<string, RawTensor>();
  for (const [name, shape, opts] of spec) {
    const full = prefix + name;
    const t = tensors.get(full);
    if (!t) {
      if (!opts?.optional) missing.push(`${full} ${formatShape(shape)}`);
      continue;
    }
    const kind = opts?.kind ?? 'float';
    if (!shapeEquals(t.shape, shape)) wrong.push(`${full}: want ${formatShape(shape)}, got ${formatShape(t.shape)}`);
    else if (kindOf(t) !== kind) wrong.push(`${full}: want ${kind} data, got ${t.dtype}`);
    else found.set(name, t);
  }
  if (missing.length === 0 && wrong.length === 0) return E.right(found);
  const parts = [
    ...(missing.length ? [`${missing.length} missing: ${missing.join(', ')}`] : []),
    ...(wrong.length ? [`${wrong.length} wrong: ${wrong.join('; ')}`] : []),
  ];
  return E.left(loadError('weights', source, parts.join('. ')));
}

/** Names present in `tensors` that no entry of `spec` asks for. */
export const unusedNames = (tensors: ReadonlyMap<string, RawTensor>, spec: WeightSpec): string[] => {
  const wanted = new Set(spec.map(([n]) => n));
  return [...tensors.keys()].filter((n) => !wanted.has(n)).sort();
};

export class Weights {
  constructor(
    private readonly tensors: ReadonlyMap<string, RawTensor>,
    /** Source file or folder, for error messages. */
    readonly source = 'checkpoint',
    readonly prefix = '',
  ) {}

  /** A view one segment deeper: `at('encoder').at('layer').at(3)` reads `encoder.layer.3.*`. */
  at(segment: string | number): Weights {
    return new Weights(this.tensors, this.source, `${this.prefix}${segment}.`);
  }

  has(name: string): boolean {
    return this.tensors.has(this.prefix + name);
  }

  /** The tensor, which must have exactly `shape`; throws LoadFailure naming the full name otherwise. */
  get(name: string, shape: readonly number[]): RawTensor {
    const full = this.prefix + name;
    const t = this.tensors.get(full);
    if (!t)
      throw new LoadFailure(loadError('weights', this.source, `tensor "${full}" ${formatShape(shape)} is missing`));
    if (!shapeEquals(t.shape, shape)) {
      throw new LoadFailure(
        loadError(
          'weights',
          this.source,
          `tensor "${full}": want shape ${formatShape(shape)}, got ${formatShape(t.shape)}`,
        ),
      );
    }
    return t;
  }

  /** The stored shape of `name`, without checking it against anything. */
  shapeOf(name: string): readonly number[] | undefined {
    return this.tensors.get(this.prefix + name)?.shape;
  }

  /** Like get, but absent → undefined (a wrong shape still throws). */
  optional(name: string, shape: readonly number[]): RawTensor | undefined {
    return this.has(name) ? this.get(name, shape) : undefined;
  }

  /** Names under this prefix, relative to it. */
  names(): string[] {
    return [...this.tensors.keys()]
      .filter((n) => n.startsWith(this.prefix))
      .map((n) => n.slice(this.prefix.length))
      .sort();
  }

  /** requireAll with spec names relative to this view's prefix. */
  requireAll(spec: WeightSpec): Either<LoadError, ReadonlyMap<string, RawTensor>> {
    return requireAll(this.tensors, spec, this.source, this.prefix);
  }
}
