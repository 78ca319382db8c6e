/**
 * Stops a run at the first non-finite loss or gradient, naming the step, the tensor path and the
 * method. One device reduction per leaf (Σ x·0 is NaN iff some x is NaN or ±Inf), one read-back for
 * all of them; the offending leaf is read in full only to describe it. Every read is asynchronous, so
 * the guard works on every backend (WebGPU has no synchronous read). The training loop packs the flags
 * into its one read-back per step (`finiteFlags`, then `nonFiniteError` on the values read).
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

/** The guard's device side: the named leaves (loss, then each gradient) and one flag per leaf [n] (f64 or f32). */
export interface FiniteProbe {
  readonly paths: readonly string[];
  readonly leaves: readonly Tensor[];
  readonly flags: Tensor;
}

export function finiteFlags(input: GuardInput): FiniteProbe {
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

/**
 * The error for the first non-finite flag among `flagValues` (read back from `probe.flags`, possibly
 * as part of a longer read), or undefined when all are finite. Reads the offending leaf to describe it.
 */
export async function nonFiniteError(
  input: Pick<GuardInput, 'method' | 'step'>,
  probe: Pick<FiniteProbe, 'paths' | 'leaves'>,
  flagValues: ArrayLike<number>,
): Promise<NonFiniteError | undefined> {
  for (let i = 0; i < flagValues.length; i++)
    if (!Number.isFinite(flagValues[i]!)) {
      const leaf = probe.leaves[i]!;
      return new NonFiniteError(input.method, input.step, probe.paths[i]!, describe(await leaf.data(), leaf.shape));
    }
  return undefined;
}

/** Checks a loss and its gradients on any backend. Rejects with NonFiniteError. */
export async function assertFinite(input: GuardInput): Promise<void> {
  const probe = finiteFlags(input);
  const values = await probe.flags.data();
  probe.flags.dispose();
  const err = await nonFiniteError(input, probe, values);
  if (err) throw err;
}
