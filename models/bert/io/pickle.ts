/**
 * A restricted unpickler: the opcodes torch.save emits (protocol 2, plus the few protocol-4 ones
 * other writers use), no code execution. Every GLOBAL goes through `hooks.global`, which names
 * what it refuses; REDUCE / BUILD / persistent ids go to the hooks too, so what a pickle can build
 * is exactly what the caller allows. Iterative, bounds-checked: hostile input only ever throws
 * PickleError.
 */

export class PickleError extends Error {
  override readonly name = 'PickleError';
  constructor(
    readonly pos: number,
    detail: string,
    override readonly cause?: unknown,
  ) {
    super(`byte ${pos}: ${detail}`);
  }
}

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}
export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
}
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

export type PyKey = string | number | bigint | boolean | null;
/** `object` is whatever the hooks build (tensors, storages). Python lists are JS arrays. */
export type PyValue = PyKey | PyValue[] | PyTuple | PyDict | PyGlobal | object;

export interface UnpickleHooks {
  /** Resolve `module.name` or throw (with the name) to refuse it. */
  global(module: string, name: string): PyValue;
  persistentLoad(pid: PyValue): PyValue;
  reduce(callable: PyValue, args: PyTuple): PyValue;
  build(obj: PyValue, state: PyValue): void;
}

const MARK = Symbol('mark');
type Slot = PyValue | typeof MARK;

const isKey = (v: PyValue): v is PyKey => v === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof v);

export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks): PyValue {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Slot[] = [];
  const marks: number[] = []; // stack heights at each MARK: popMark is O(items), never a rescan
  const memo = new Map<number, PyValue>();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = 0;
  let op = 0;
  const fail = (detail: string): never => {
    throw new PickleError(pos, detail);
  };
  const need = (n: number) => {
    if (pos + n > bytes.length)
      fail(`truncated: opcode 0x${op.toString(16)} needs ${n} more bytes, ${bytes.length - pos} left`);
  };
  const u8 = () => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = () => {
    need(2);
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const take = (n: number) => {
    need(n);
    const b = bytes.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const text = (b: Uint8Array) => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('invalid UTF-8 in string');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 512) fail('unterminated GLOBAL name');
    const s = new TextDecoder('latin1').decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined) fail('stack underflow');
    if (v === MARK) fail('unexpected MARK on the stack');
    return v as PyValue;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail('stack underflow');
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    const at = marks.pop();
    if (at === undefined) return fail('no MARK to pop to');
    const items = stack.splice(at) as PyValue[];
    items.shift();
    return items;
  };
  const setItems = (dict: PyValue, kv: readonly PyValue[]) => {
    if (!(dict instanceof PyDict)) fail('SETITEM(S) on a non-dict');
    if (kv.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < kv.length; i += 2) {
      const k = kv[i]!;
      if (!isKey(k)) fail('unsupported (non-scalar) dict key');
      (dict as PyDict).map.set(k as PyKey, kv[i + 1]!);
    }
  };
  const append = (list: PyValue, items: readonly PyValue[]) => {
    if (!Array.isArray(list)) fail('APPEND(S) on a non-list');
    for (const item of items) (list as PyValue[]).push(item); // no spread: a huge APPENDS would overflow the call stack
  };
  const signedLE = (b: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b.length > 0 && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const wrap = <A>(f: () => A): A => {
    try {
      return f();
    } catch (e) {
      if (e instanceof PickleError) throw e;
      throw new PickleError(pos, e instanceof Error ? e.message : String(e), e);
    }
  };

  while (true) {
    if (pos >= bytes.length) fail('pickle ended without STOP');
    op = bytes[pos++]!;
    switch (op) {
      case 0x80: {
        const v = u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      } // PROTO
      case 0x95:
        take(8);
        break; // FRAME: framing is irrelevant when the whole pickle is in memory
      case 0x2e: {
        // STOP
        const v = pop();
        if (stack.length > 0) fail(`${stack.length} values left on the stack at STOP`);
        return v;
      }
      case 0x28:
        marks.push(stack.length);
        stack.push(MARK);
        break; // MARK
      case 0x7d:
        stack.push(new PyDict());
        break; // EMPTY_DICT
      case 0x5d:
        stack.push([]);
        break; // EMPTY_LIST
      case 0x29:
        stack.push(new PyTuple([]));
        break; // EMPTY_TUPLE
      case 0x64: {
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      } // DICT
      case 0x6c:
        stack.push(popMark());
        break; // LIST
      case 0x74:
        stack.push(new PyTuple(popMark()));
        break; // TUPLE
      case 0x85:
        stack.push(new PyTuple([pop()]));
        break; // TUPLE1
      case 0x86: {
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      } // TUPLE3
      case 0x4e:
        stack.push(null);
        break; // NONE
      case 0x88:
        stack.push(true);
        break; // NEWTRUE
      case 0x89:
        stack.push(false);
        break; // NEWFALSE
      case 0x4a: {
        need(4);
        stack.push(dv.getInt32(pos, true));
        pos += 4;
        break;
      } // BININT
      case 0x4b:
        stack.push(u8());
        break; // BININT1
      case 0x4d:
        stack.push(u16());
        break; // BININT2
      case 0x8a:
        stack.push(signedLE(take(u8())));
        break; // LONG1
      case 0x47: {
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      } // BINFLOAT (big-endian)
      case 0x58:
        stack.push(text(take(u32())));
        break; // BINUNICODE
      case 0x8c:
        stack.push(text(take(u8())));
        break; // SHORT_BINUNICODE
      case 0x55:
        stack.push(new TextDecoder('latin1').decode(take(u8())));
        break; // SHORT_BINSTRING
      case 0x71:
        memo.set(u8(), top());
        break; // BINPUT
      case 0x72:
        memo.set(u32(), top());
        break; // LONG_BINPUT
      case 0x94:
        memo.set(memo.size, top());
        break; // MEMOIZE
      case 0x68:
      case 0x6a: {
        // BINGET, LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`memo key ${i} was never stored`);
        stack.push(memo.get(i)!);
        break;
      }
      case 0x63: {
        const m = line();
        const n = line();
        stack.push(wrap(() => hooks.global(m, n)));
        break;
      } // GLOBAL
      case 0x93: {
        // STACK_GLOBAL
        const n = pop();
        const m = pop();
        if (typeof m !== 'string' || typeof n !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(wrap(() => hooks.global(m as string, n as string)));
        break;
      }
      case 0x51: {
        const pid = pop();
        stack.push(wrap(() => hooks.persistentLoad(pid)));
        break;
      } // BINPERSID
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!(args instanceof PyTuple)) fail('REDUCE arguments are not a tuple');
        stack.push(wrap(() => hooks.reduce(fn, args as PyTuple)));
        break;
      }
      case 0x62: {
        const state = pop();
        const obj = top();
        wrap(() => hooks.build(obj, state));
        break;
      } // BUILD
      case 0x73: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      } // SETITEM
      case 0x75: {
        const kv = popMark();
        setItems(top(), kv);
        break;
      } // SETITEMS
      case 0x61: {
        const v = pop();
        append(top(), [v]);
        break;
      } // APPEND
      case 0x65: {
        const items = popMark();
        append(top(), items);
        break;
      } // APPENDS
      case 0x30:
        pop();
        break; // POP
      default:
        fail(`opcode 0x${op.toString(16).padStart(2, '0')} is not supported by this restricted unpickler`);
    }
  }
}
