/**
 * Stops a run at the first non-finite loss or gradient, naming the step, the tensor path and the
 * method. One device reduction per leaf (Σ x·0 is NaN iff some x is NaN or ±Inf), one read-back for
 * all of them; the offending leaf is read in full only to describe it.
 */
import { cast, concat, mul, reshape, scope, sum, treeLeaves, type Tensor } from '../core/index.ts';

export class NonFiniteError extends Error {
  override readonly name = 'NonFiniteError';
  constructor(
    readonly method: string,
    readonly step: number,
    /** `loss` or `grads.<tree path>`. */
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${method}: non-finite ${path} at step ${step} (${detail})`);
  }
}

export interface GuardInput {
  readonly method: string;
  readonly step: number;
  readonly loss: Tensor;
  readonly grads: unknown;
}

function describe(values: ArrayLike<number>, shape: readonly number[]): string {
  let nan = 0,
    inf = 0,
    first = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) nan++;
    else if (!Number.isFinite(v)) inf++;
    else continue;
    if (first < 0) first = i;
  }
  return `shape [${shape.join(', ')}]: ${nan} NaN, ${inf} Inf of ${values.length}; first at flat index ${first}`;
}

function probes(input: GuardInput): { paths: string[]; leaves: Tensor[]; flags: Tensor } {
  const named = [
    { path: 'loss', leaf: input.loss },
    ...treeLeaves(input.grads).map((l) => ({ path: `grads.${l.path}`, leaf: l.leaf })),
  ];
  const leaves = named.map((n) => n.leaf);
  const bk = input.loss.backend;
  const dtype = bk.dtypes.has('f64') ? 'f64' : 'f32';
  const flags = scope(bk, () =>
    concat(
      leaves.map((t) => reshape(cast(sum(mul(t, 0)), dtype), [1])),
      0,
    ),
  );
  return { paths: named.map((n) => n.path), leaves, flags };
}

function firstBad(flags: ArrayLike<number>): number {
  for (let i = 0; i < flags.length; i++) if (!Number.isFinite(flags[i]!)) return i;
  return -1;
}

/** Synchronous check (CPU backend). Throws NonFiniteError. */
export function assertFinite(input: GuardInput): void {
  const { paths, leaves, flags } = probes(input);
  const i = firstBad(flags.dataSync());
  flags.dispose();
  if (i >= 0)
    throw new NonFiniteError(input.method, input.step, paths[i]!, describe(leaves[i]!.dataSync(), leaves[i]!.shape));
}

/** The same check through async reads (any backend). Rejects with NonFiniteError. */
export async function assertFiniteAsync(input: GuardInput): Promise<void> {
  const { paths, leaves, flags } = probes(input);
  const i = firstBad(await flags.data());
  flags.dispose();
  if (i >= 0)
    throw new NonFiniteError(input.method, input.step, paths[i]!, describe(await leaves[i]!.data(), leaves[i]!.shape));
}
