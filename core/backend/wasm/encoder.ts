/**
 * A tiny WebAssembly binary encoder: just what the kernels need (one imported shared memory, i32 /
 * f32 / v128 functions, structured loops). Kernels are emitted at run time from TypeScript, so there
 * is no .wasm file and no toolchain. Opcodes: WebAssembly core spec §5 and the SIMD proposal.
 */

export const I32 = 0x7f,
  F32 = 0x7d,
  V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const utf8 = (s: string): number[] => {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** SIMD opcodes (after the 0xfd prefix). */
export const S = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  const: 0x0c,
  f32x4Splat: 0x13,
  f32x4Extract: 0x1f,
  f32x4Lt: 0x43,
  f32x4Gt: 0x44,
  f32x4Ge: 0x46,
  and: 0x4e,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  f32x4Nearest: 0x6a,
  i32x4Shl: 0xab,
  i32x4Add: 0xae,
  i32x4Sub: 0xb1,
  f32x4Abs: 0xe0,
  f32x4Neg: 0xe1,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  f32x4Pmax: 0xeb,
  i32x4TruncSatF32x4S: 0xf8,
  f32x4ConvertI32x4S: 0xfa,
  f32x4RelaxedMadd: 0x105,
} as const;

/** Core opcodes used by the kernels. */
export const O = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  f32Load: 0x2a,
  i32Store: 0x36,
  f32Store: 0x38,
  i32Const: 0x41,
  f32Const: 0x43,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32And: 0x71,
  i32LtS: 0x48,
  i32GtS: 0x4a,
  i32LeS: 0x4c,
  i32GeS: 0x4e,
  i32GeU: 0x4f,
  f32Lt: 0x5d,
  f32Gt: 0x5e,
  f32Abs: 0x8b,
  f32Neg: 0x8c,
  f32Sqrt: 0x91,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  f32Div: 0x95,
  f32Min: 0x96,
  f32Max: 0x97,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32DivS: 0x6d,
  i32RemS: 0x6f,
  i32Shl: 0x74,
  f32ConvertI32S: 0xb2,
  f32ReinterpretI32: 0xbe,
} as const;

/** The i32 bit pattern of x rounded to f32: kernels take every argument as i32 (pool.ts), floats included. */
export const f32Bits = (x: number): number => new Int32Array(new Float32Array([x]).buffer)[0]!;

/** Builds one function body; locals are numbered after the params. */
export class Fn {
  readonly code: number[] = [];
  private readonly extra: ValType[] = [];
  /** v128Const's locals by constant (hex bytes), and the code that sets them once, run before `code`. */
  private readonly constLocals = new Map<string, number>();
  private readonly prologue: number[] = [];
  constructor(
    readonly name: string,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[] = [],
  ) {}

  local(t: ValType): number {
    this.extra.push(t);
    return this.params.length + this.extra.length - 1;
  }
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  simd(op: number, ...imm: number[]): this {
    return this.op(0xfd, ...uleb(op), ...imm);
  }
  get(i: number): this {
    return this.op(O.localGet, ...uleb(i));
  }
  set(i: number): this {
    return this.op(O.localSet, ...uleb(i));
  }
  tee(i: number): this {
    return this.op(O.localTee, ...uleb(i));
  }
  i32(n: number): this {
    return this.op(O.i32Const, ...sleb(n | 0));
  }
  f32(x: number): this {
    const b = new Uint8Array(new Float32Array([x]).buffer);
    return this.op(O.f32Const, ...b);
  }
  v128Zero(): this {
    return this.simd(S.const, ...new Array<number>(16).fill(0));
  }
  /**
   * Pushes the 16-byte constant `bytes`, read from a local set once at function entry. V8 (11 to 13) builds
   * every other v128.const where it is used, inside loops too, from a 64-bit immediate in three instructions
   * (movq, vmovq, vpunpcklqdq): GELU's exp and erf use 22, which doubled its loop (measured with
   * --print-wasm-code). All-zero constants stay inline: V8 makes them with one vpxor.
   */
  v128Const(bytes: readonly number[]): this {
    if (bytes.length !== 16) throw new RangeError(`v128Const: 16 bytes, got ${bytes.length}`);
    if (bytes.every((b) => b === 0)) return this.v128Zero();
    const key = bytes.map((b) => (b & 0xff).toString(16).padStart(2, '0')).join('');
    let local = this.constLocals.get(key);
    if (local === undefined) {
      local = this.local(V128);
      this.constLocals.set(key, local);
      this.prologue.push(0xfd, ...uleb(S.const), ...bytes, O.localSet, ...uleb(local));
    }
    return this.get(local);
  }
  /** v128Const of x in every f32 lane / i32 lane. */
  f32x4Const(x: number): this {
    return this.v128Const([...new Uint8Array(new Float32Array([x, x, x, x]).buffer)]);
  }
  i32x4Const(x: number): this {
    return this.v128Const([...new Uint8Array(new Int32Array([x, x, x, x]).buffer)]);
  }
  /** memarg: alignment exponent and a constant byte offset. */
  load(op: number, offset = 0, align = 2): this {
    return this.op(op, align, ...uleb(offset));
  }
  vload(offset = 0): this {
    return this.simd(S.load, 4, ...uleb(offset));
  }
  vstore(offset = 0): this {
    return this.simd(S.store, 4, ...uleb(offset));
  }
  splatLoad(offset = 0): this {
    return this.simd(S.load32Splat, 2, ...uleb(offset));
  }
  /** local[i] += n */
  inc(i: number, n: number | (() => void)): this {
    this.get(i);
    if (typeof n === 'number') this.i32(n);
    else n();
    return this.op(O.i32Add).set(i);
  }
  /** for (i = from; i < to; i += step) body(); `from` pushes an i32, `to` is a local; `ge` i32GeU for byte pointers (the heap passes 2 GiB). */
  for(
    i: number,
    from: () => void,
    to: number,
    step: number | (() => void),
    body: () => void,
    ge: number = O.i32GeS,
  ): this {
    from();
    this.set(i);
    this.op(O.block, 0x40, O.loop, 0x40);
    this.get(i).get(to).op(ge, O.brIf, 1);
    body();
    this.inc(i, step);
    return this.op(O.br, 0, O.end, O.end);
  }
  /** if (cond) then() else otherwise() — `cond` pushes an i32. */
  if(cond: () => void, then: () => void, otherwise?: () => void): this {
    cond();
    this.op(O.if, 0x40);
    then();
    if (otherwise) {
      this.op(O.else);
      otherwise();
    }
    return this.op(O.end);
  }

  encode(): number[] {
    // run-length local declarations
    const groups: number[][] = [];
    for (const t of this.extra) {
      const last = groups.at(-1);
      if (last && last[1] === t) last[0]!++;
      else groups.push([1, t]);
    }
    const body = [...vec(groups.map(([n, t]) => [...uleb(n!), t!])), ...this.prologue, ...this.code, O.end];
    return [...uleb(body.length), ...body];
  }
}

/** A module importing `env.memory` (shared, `maxPages`) and exporting every function by name. */
export function encodeModule(fns: readonly Fn[], minPages: number, maxPages: number): Uint8Array {
  const types = fns.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec(f.results.map((r) => [r]))]);
  const mem = [...utf8('env'), ...utf8('memory'), 0x02, 0x03, ...uleb(minPages), ...uleb(maxPages)]; // 0x03: shared, has max
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, vec([mem])),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(7, vec(fns.map((f, i) => [...utf8(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(fns.map((f) => f.encode()))),
  ]);
}
