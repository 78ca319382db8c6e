/**
 * Reverse mode over a recorded trace. A tape exists only while `valueAndGrad`/`vjp` runs; ops record a
 * node only when an input carries that tape's trace, so frozen weights (closed-over constants) never
 * appear on it: no gradient buffers and no backward work for them. The walker visits nodes in reverse,
 * calls VJP thunks only for traced inputs, sums broadcast axes back (once, here, not in each rule),
 * checks every cotangent's shape and accumulates.
 */
import type { Backend, DataId } from '../backend/backend.ts';
import type { DType, StorageDType } from '../tensor/dtype.ts';
import { broadcastedAxes, broadcastShapes, fmt, shapeEq, type Shape } from '../tensor/shape.ts';
import { Tensor, type AnyTensor, type TapeLike, type Trace } from '../tensor/tensor.ts';
import type { Attrs, OpName, VjpRule, VjpRules, VjpThunk } from './primitives.ts';

export type { VjpThunk };

/** What a kernel produced: a new storage (one reference owned by the caller), its shape and dtype. */
export interface KernelOut {
  readonly id: DataId;
  readonly shape: Shape;
  readonly dtype: StorageDType;
}

interface Node {
  readonly op: OpName;
  /** The op's VJP rule applied to this node's inputs, output, attributes and saved tensors. */
  readonly vjp: (dy: Tensor, needs: readonly boolean[]) => readonly (VjpThunk | undefined)[];
  readonly inKeys: readonly (number | undefined)[];
  readonly ins: readonly Tensor[];
  readonly out: Tensor;
  readonly outKey: number;
  readonly saved: readonly Tensor[];
}

/** A view of `t` with no trace (shares storage). */
export function untraced<T extends AnyTensor>(t: T): T {
  t.backend.incRef(t.id);
  return new Tensor(t.backend, t.id, t.shape, t.dtype) as T;
}

export class Tape implements TapeLike {
  private recording = true;
  private nextKey = 0;
  private readonly nodes: Node[] = [];

  get active(): boolean {
    return this.recording;
  }
  get size(): number {
    return this.nodes.length;
  }

  /** Stops recording; tensors that still carry this tape's trace behave as constants from now on. */
  close(): void {
    this.recording = false;
  }

  /** A traced view of a differentiated argument. */
  leaf(t: Tensor): Tensor {
    if (t.activeTrace)
      throw new Error(
        `nested differentiation (grad of grad) is not supported: the argument ${fmt(t.shape)} is already traced by an enclosing valueAndGrad/vjp, whose gradient would silently be zero; apply stopGradient to it first if that is intended`,
      );
    t.backend.incRef(t.id);
    return new Tensor(t.backend, t.id, t.shape, t.dtype, { tape: this, key: this.nextKey++ });
  }

  /**
   * `inputs` may hold frozen f16 operands (matmul) and `out` be f16 (cast): the Tensor typing is the
   * op's to state; the VJP rules see them as plain tensors, and only matmul ever gets an f16 one.
   */
  record<O extends OpName>(
    op: O,
    inputs: readonly AnyTensor[],
    attrs: Attrs<O>,
    out: KernelOut,
    saved: readonly Tensor[],
  ): Tensor {
    const bk: Backend = inputs[0]!.backend;
    const raw = new Tensor(bk, out.id, out.shape, out.dtype) as Tensor;
    const key = this.nextKey++;
    const ins = inputs.map(untraced) as Tensor[];
    this.nodes.push({
      op,
      vjp: (dy, needs) => w().rules[op](dy, ins, raw, attrs, saved, needs),
      inKeys: inputs.map((t) => (t.trace?.tape === this ? t.trace.key : undefined)),
      ins,
      out: raw,
      outKey: key,
      saved,
    });
    bk.incRef(out.id);
    return new Tensor(bk, out.id, out.shape, out.dtype, { tape: this, key }) as Tensor;
  }

  /** Cotangents of every traced tensor reachable backwards from `root`, keyed by trace key. */
  backward(root: Tensor, cotangent: Tensor): Map<number, Tensor> {
    const grads = new Map<number, Tensor>();
    if (root.trace?.tape !== this) return grads;
    grads.set(root.trace.key, cotangent);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      const dy = grads.get(n.outKey);
      if (!dy) continue; // not on a path to the root: pruned
      grads.delete(n.outKey);
      const thunks = n.vjp(
        dy,
        n.inKeys.map((k) => k !== undefined),
      );
      n.inKeys.forEach((k, j) => {
        const thunk = thunks[j];
        if (k === undefined || !thunk) return;
        const x = n.ins[j]!;
        const g = reduceToShape(n.op, thunk(), x.shape, x.dtype);
        const prev = grads.get(k);
        grads.set(k, prev ? addSameShape(prev, g) : g);
      });
    }
    return grads;
  }
}

// The walker needs the VJP rules and sum/reshape/add without importing the op modules (which import
// this file); they are injected once by core/tensor/ops/index.ts.
export interface WalkerOps {
  readonly rules: VjpRules;
  sumAxes(t: Tensor, axes: readonly number[]): Tensor;
  reshape(t: Tensor, shape: Shape): Tensor;
  add(a: Tensor, b: Tensor): Tensor;
  cast(t: Tensor, dtype: DType): Tensor;
}
let walker: WalkerOps | undefined;
export function installWalkerOps(ops: WalkerOps): void {
  walker = ops;
}
/** Runs `fn` with `op`'s VJP rule replaced: the gradient checker's own tests feed it wrong rules. */
export function withVjpRule<O extends OpName, R>(op: O, rule: VjpRule<O>, fn: () => R): R {
  const saved = w();
  walker = { ...saved, rules: { ...saved.rules, [op]: rule } };
  try {
    return fn();
  } finally {
    walker = saved;
  }
}
function w(): WalkerOps {
  if (!walker) throw new Error('autograd: op table not loaded (import from core/tensor/ops/index.ts)');
  return walker;
}

function reduceToShape(op: string, g: Tensor, shape: Shape, dtype: DType): Tensor {
  let out = g;
  if (!shapeEq(out.shape, shape)) {
    if (out.shape.length < shape.length) {
      throw new Error(`vjp of ${op}: cotangent ${fmt(out.shape)} has lower rank than its input ${fmt(shape)}`);
    }
    const target = broadcastShapes(`vjp of ${op}`, shape, out.shape);
    if (!shapeEq(target, out.shape)) {
      throw new Error(`vjp of ${op}: cotangent ${fmt(out.shape)} does not match its input ${fmt(shape)}`);
    }
    const axes = broadcastedAxes(shape, out.shape);
    out = w().reshape(w().sumAxes(out, axes), shape);
  }
  if (out.dtype !== dtype) out = w().cast(out, dtype);
  return out;
}

function addSameShape(a: Tensor, b: Tensor): Tensor {
  return w().add(a, b);
}

export type { Trace };
