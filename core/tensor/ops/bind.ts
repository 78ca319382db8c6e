/** Shared plumbing for op definitions: backend/dtype checks, scalar lifting, and tape binding. */
import type { Backend } from '../../backend/backend.ts';
import type { Tape } from '../../autograd/tape.ts';
import type { KernelOut } from '../../autograd/tape.ts';
import type { Attrs, OpName } from '../../autograd/primitives.ts';
import { isFloat, type DType } from '../dtype.ts';
import { fmt } from '../shape.ts';
import { Tensor, type AnyTensor } from '../tensor.ts';

export type TensorLike = Tensor | number;

/** The ops that accept f16 storage (see core/tensor/dtype.ts); the rest throw rather than convert silently. */
export const F16_OPS: ReadonlySet<string> = new Set(['cast', 'reshape', 'matmul', 'matmulBias']);

export function refuseF16(op: string, t: AnyTensor): void {
  if (t.dtype === 'f16' && !F16_OPS.has(op)) {
    throw new TypeError(
      `${op}: got an f16 tensor ${fmt(t.shape)}; f16 is frozen-weight storage that only ${[...F16_OPS].join(', ')} accept (cast(x, 'f32') first)`,
    );
  }
}

export function backendOf(op: string, inputs: readonly AnyTensor[]): Backend {
  const bk = inputs[0]!.backend;
  for (const t of inputs) {
    t.assertLive(op);
    refuseF16(op, t);
    if (t.backend !== bk)
      throw new Error(`${op}: inputs live on different backends (${bk.name} and ${t.backend.name})`);
  }
  return bk;
}

/** Numbers become scalar tensors of the other operand's dtype and backend. */
export function lift(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number')
    throw new TypeError(`${op}: at least one operand must be a tensor`);
  // before a scalar of an f16 dtype is made or a dtype mismatch hides the real reason
  for (const v of [a, b]) if (typeof v !== 'number') refuseF16(op, v);
  const like = (typeof a === 'number' ? b : a) as Tensor;
  const toT = (v: TensorLike): Tensor => (typeof v === 'number' ? scalarLike(v, like) : v);
  const ta = toT(a),
    tb = toT(b);
  if (ta.dtype !== tb.dtype) {
    throw new TypeError(
      `${op}: dtype mismatch ${fmt(ta.shape)} ${ta.dtype} vs ${fmt(tb.shape)} ${tb.dtype} (cast one explicitly)`,
    );
  }
  return [ta, tb];
}

export function scalarLike(v: number, like: Tensor): Tensor {
  const bk = like.backend;
  return new Tensor(bk, bk.fill(1, v, like.dtype), [], like.dtype);
}

export function requireFloat(op: string, t: Tensor): void {
  if (!isFloat(t.dtype)) throw new TypeError(`${op}: needs a float tensor, got ${t.dtype} ${fmt(t.shape)}`);
}

export function requireDtype(op: string, t: Tensor, dtype: DType, role: string): void {
  if (t.dtype !== dtype) throw new TypeError(`${op}: ${role} must be ${dtype}, got ${t.dtype} ${fmt(t.shape)}`);
}

/**
 * Wraps a kernel's output as a Tensor and, when an input carries an active tape, records the node
 * (primitive `op`, whose VJP is vjpRules[op]).
 * `saved` tensors (e.g. layer-norm statistics) are kept for the VJP, or disposed when nothing records.
 */
export function bind<O extends OpName>(
  op: O,
  inputs: readonly AnyTensor[],
  attrs: Attrs<O>,
  out: KernelOut,
  saved: readonly Tensor[] = [],
): Tensor {
  let tape: Tape | undefined;
  for (const t of inputs) {
    const tr = t.activeTrace;
    if (!tr) continue;
    if (tape && tr.tape !== tape) {
      throw new Error(
        `${op}: inputs are traced by two different differentiation scopes (nested valueAndGrad over the same values is not supported)`,
      );
    }
    tape = tr.tape as Tape;
  }
  const bk = inputs[0]!.backend;
  if (!tape) {
    for (const s of saved) s.dispose();
    return new Tensor(bk, out.id, out.shape, out.dtype) as Tensor; // an f16 output is typed by cast
  }
  return tape.record(op, inputs, attrs, out, saved);
}
