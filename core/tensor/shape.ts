/** Shape algebra: sizes, strides, numpy broadcasting and axis normalisation, with errors that name the op. */
export type Shape = readonly number[];

export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export const shapeEq = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

export const fmt = (s: Shape): string => `[${s.join(', ')}]`;

/** Row-major strides of a contiguous tensor. */
export function stridesOf(shape: Shape): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i]!;
  }
  return st;
}

export function assertValidShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new ShapeError(`${op}: invalid shape ${fmt(shape)} (dimensions must be non-negative integers)`);
  }
}

/** numpy broadcasting of any number of shapes; the error names the op, every shape and the axis at fault. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (let i = 0; i < rank; i++) {
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (out[i] === 1) out[i] = d;
      else if (out[i] !== d) {
        throw new ShapeError(
          `${op}: shapes ${shapes.map(fmt).join(' and ')} do not broadcast (axis ${i - rank} of the result: ${out[i]} vs ${d})`,
        );
      }
    }
  }
  return out;
}

/** Strides for reading `shape` as if broadcast to `outShape` (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const st = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : st[i - off]!));
}

/** Axes of `outShape` along which `shape` was broadcast (the axes a gradient must be summed over). */
export function broadcastedAxes(shape: Shape, outShape: Shape): number[] {
  const off = outShape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    if (i < off || (shape[i - off] === 1 && outShape[i] !== 1)) axes.push(i);
  }
  return axes;
}

export function normalizeAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank)
    throw new ShapeError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const norm = list.map((a) => normalizeAxis(op, a, rank));
  if (new Set(norm).size !== norm.length) throw new ShapeError(`${op}: repeated axis in [${list.join(', ')}]`);
  return norm.sort((a, b) => a - b);
}

/** Resolves a single -1 in a reshape target. */
export function inferReshape(op: string, from: Shape, to: Shape): number[] {
  const n = sizeOf(from);
  const unknown = to.filter((d) => d === -1).length;
  if (unknown > 1) throw new ShapeError(`${op}: at most one -1 allowed in ${fmt(to)}`);
  const known = to.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : n / known) : d));
  assertValidShape(op, out);
  if (sizeOf(out) !== n) throw new ShapeError(`${op}: cannot reshape ${fmt(from)} (${n} elements) to ${fmt(to)}`);
  return out;
}
