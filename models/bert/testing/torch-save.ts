/**
 * Test support: writes what `torch.save(model.state_dict(), f)` writes (torch ≥ 1.6 zip format,
 * pickle protocol 2), opcode for opcode, so the .bin loader can be tested without PyTorch.
 * The pickle mirrors CPython's Pickler on a state_dict: an OrderedDict REDUCE'd from
 * `collections.OrderedDict`, items in SETITEMS batches of 1000, tensors as
 * `_rebuild_tensor_v2((storage pid), offset, size, stride, False, OrderedDict())`, then the
 * `_metadata` attribute through BUILD; memo puts/gets where CPython's identity memo makes them.
 * The zip mirrors PyTorchStreamWriter: stored records whose data is 64-byte aligned through an
 * 'FB' padding extra field.
 */
import { deflateSync } from 'fflate';
import type { RawTensor } from '../io/raw-tensor.ts';

export type StorageTypeName =
  'FloatStorage' | 'HalfStorage' | 'BFloat16Storage' | 'DoubleStorage' | 'LongStorage' | 'IntStorage';

/** One state_dict entry: a view into a storage (several entries may share one storage key). */
export interface TorchEntry {
  readonly name: string;
  readonly storageKey: string;
  readonly offset: number;
  readonly size: readonly number[];
  readonly stride: readonly number[];
  readonly parameter?: boolean;
}

export interface TorchStorage {
  readonly type: StorageTypeName;
  /** Raw little-endian element bytes. */
  readonly bytes: Uint8Array;
}

export interface TorchSaveOptions {
  /** Top folder of the archive (torch uses the file's stem, or "archive"). */
  readonly archiveName?: string;
  /** Write state_dict's `_metadata` (through BUILD), as model.state_dict() has it. Default true. */
  readonly metadata?: boolean;
  /** Deflate every record (torch never does; other zip tools may). */
  readonly deflate?: boolean;
}

const ELEM: Readonly<Record<StorageTypeName, number>> = {
  FloatStorage: 4,
  HalfStorage: 2,
  BFloat16Storage: 2,
  DoubleStorage: 8,
  LongStorage: 8,
  IntStorage: 4,
};

class Pickler {
  readonly out: number[] = [];
  private readonly memo = new Map<string, number>();
  op(...b: number[]) {
    for (const x of b) this.out.push(x);
  }
  u32(v: number) {
    this.op(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  /** Memoize the object on top of the stack (CPython: BINPUT below 256, else LONG_BINPUT). */
  put(key: string) {
    const i = this.memo.size;
    this.memo.set(key, i);
    if (i < 256) this.op(0x71, i);
    else {
      this.op(0x72);
      this.u32(i);
    }
  }
  /** Pushes a memoized object if present; CPython's memo is by identity, `key` stands for it. */
  get(key: string): boolean {
    const i = this.memo.get(key);
    if (i === undefined) return false;
    if (i < 256) this.op(0x68, i);
    else {
      this.op(0x6a);
      this.u32(i);
    }
    return true;
  }
  str(s: string, identity: string) {
    if (this.get(identity)) return;
    const b = new TextEncoder().encode(s);
    this.op(0x58);
    this.u32(b.length);
    this.op(...b);
    this.put(identity);
  }
  int(v: number) {
    if (v >= 0 && v <= 0xff) this.op(0x4b, v);
    else if (v >= 0 && v <= 0xffff) this.op(0x4d, v & 0xff, v >> 8);
    else if (v >= -0x80000000 && v <= 0x7fffffff) {
      this.op(0x4a);
      this.u32(v >>> 0);
    } else {
      // LONG1: minimal two's complement, little-endian
      const bytes: number[] = [];
      let x = BigInt(v);
      do {
        bytes.push(Number(x & 0xffn));
        x >>= 8n;
      } while (!(x === 0n && !(bytes[bytes.length - 1]! & 0x80)) && !(x === -1n && bytes[bytes.length - 1]! & 0x80));
      this.op(0x8a, bytes.length, ...bytes);
    }
  }
  global(module: string, name: string) {
    if (this.get(`global:${module}.${name}`)) return;
    this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
    this.put(`global:${module}.${name}`);
  }
  /** A fresh tuple object (`id` unique per object): TUPLE1-3, or MARK … TUPLE. */
  tuple(id: string, items: readonly (() => void)[]) {
    if (items.length === 0) {
      this.op(0x29);
      return;
    }
    if (items.length > 3) this.op(0x28);
    for (const f of items) f();
    this.op(items.length > 3 ? 0x74 : [0, 0x85, 0x86, 0x87][items.length]!);
    this.put(id);
  }
  emptyOrderedDict(id: string) {
    this.global('collections', 'OrderedDict');
    this.op(0x29, 0x52);
    this.put(id);
  }
  /** CPython's _batch_setitems: MARK … SETITEMS per batch of up to 1000, SETITEM for a single item. */
  setItems(items: readonly (() => void)[]) {
    for (let i = 0; i < items.length; i += 1000) {
      const batch = items.slice(i, i + 1000);
      if (batch.length > 1) this.op(0x28);
      for (const f of batch) f();
      this.op(batch.length > 1 ? 0x75 : 0x73);
    }
  }
}

/** The data.pkl bytes for a state_dict of the given entries. */
export function stateDictPickle(
  entries: readonly TorchEntry[],
  storages: ReadonlyMap<string, TorchStorage>,
  metadata = true,
): Uint8Array {
  const p = new Pickler();
  let fresh = 0;
  const id = (what: string) => `${what}#${fresh++}`;
  p.op(0x80, 2);
  p.emptyOrderedDict(id('state_dict'));
  p.setItems(
    entries.map((e) => () => {
      const st = storages.get(e.storageKey);
      if (!st) throw new Error(`no storage ${e.storageKey}`);
      p.str(e.name, id('key'));
      if (e.parameter) p.global('torch._utils', '_rebuild_parameter');
      p.global('torch._utils', '_rebuild_tensor_v2');
      p.tuple(id('args'), [
        () => {
          p.tuple(id('pid'), [
            () => p.str('storage', 'str:storage'),
            () => p.global('torch', st.type),
            () => p.str(e.storageKey, `storage-key:${e.storageKey}`),
            () => p.str('cpu', 'str:cpu'),
            () => p.int(st.bytes.length / ELEM[st.type]),
          ]);
          p.op(0x51); // BINPERSID
        },
        () => p.int(e.offset),
        () =>
          p.tuple(
            id('size'),
            e.size.map((d) => () => p.int(d)),
          ),
        () =>
          p.tuple(
            id('stride'),
            e.stride.map((d) => () => p.int(d)),
          ),
        () => p.op(0x89), // requires_grad=False
        () => p.emptyOrderedDict(id('hooks')),
      ]);
      p.op(0x52); // REDUCE
      p.put(id('tensor'));
      if (e.parameter) {
        // Parameter.__reduce_ex__: _rebuild_parameter((tensor, True, OrderedDict())); the tensor is
        // already on the stack as the tuple's first item.
        p.tuple(id('pargs'), [() => undefined, () => p.op(0x88), () => p.emptyOrderedDict(id('phooks'))]);
        p.op(0x52);
        p.put(id('param'));
      }
    }),
  );
  if (metadata) {
    p.op(0x7d);
    p.put(id('state'));
    p.setItems([
      () => {
        p.str('_metadata', 'str:_metadata');
        p.emptyOrderedDict(id('meta'));
        p.setItems(
          ['', 'bert', 'bert.embeddings'].map((m) => () => {
            p.str(m, id('prefix'));
            p.op(0x7d);
            p.put(id('vdict'));
            p.setItems([
              () => {
                p.str('version', 'str:version');
                p.int(1);
              },
            ]);
          }),
        );
      },
    ]);
    p.op(0x62); // BUILD
  }
  p.op(0x2e); // STOP
  return Uint8Array.from(p.out);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip like PyTorchStreamWriter's: stored records, data aligned to 64 bytes via an 'FB' extra field. */
export function writeZip(records: readonly (readonly [string, Uint8Array])[], deflate = false): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: number[] = [];
  let offset = 0;
  const le = (arr: number[], v: number, n: number) => {
    for (let i = 0; i < n; i++) arr.push((v >>> (8 * i)) & 0xff);
  };
  for (const [name, data] of records) {
    const nameBytes = new TextEncoder().encode(name);
    const body = deflate ? deflateSync(data, { level: 1 }) : data;
    const fixed = 30 + nameBytes.length + 4;
    const pad = deflate ? 0 : (64 - ((offset + fixed) % 64)) % 64;
    const crc = crc32(data);
    const header = (arr: number[], centralDir: boolean) => {
      le(arr, centralDir ? 0x02014b50 : 0x04034b50, 4);
      if (centralDir) le(arr, 20, 2);
      le(arr, 20, 2);
      le(arr, 0, 2);
      le(arr, deflate ? 8 : 0, 2);
      le(arr, 0, 4);
      le(arr, crc, 4);
      le(arr, body.length, 4);
      le(arr, data.length, 4);
      le(arr, nameBytes.length, 2);
      le(arr, centralDir ? 0 : 4 + pad, 2);
      if (centralDir) {
        le(arr, 0, 2);
        le(arr, 0, 2);
        le(arr, 0, 2);
        le(arr, 0, 4);
        le(arr, offset, 4);
      }
      for (const b of nameBytes) arr.push(b);
      if (!centralDir) {
        le(arr, 0x4246, 2);
        le(arr, pad, 2);
        for (let i = 0; i < pad; i++) arr.push(0x5a);
      }
    };
    const local: number[] = [];
    header(local, false);
    header(central, true);
    parts.push(Uint8Array.from(local), body);
    offset += local.length + body.length;
  }
  const eocd: number[] = [];
  le(eocd, 0x06054b50, 4);
  le(eocd, 0, 2);
  le(eocd, 0, 2);
  le(eocd, records.length, 2);
  le(eocd, records.length, 2);
  le(eocd, central.length, 4);
  le(eocd, offset, 4);
  le(eocd, 0, 2);
  parts.push(Uint8Array.from(central), Uint8Array.from(eocd));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A whole pytorch_model.bin from entries + storages (records in PyTorchStreamWriter's order). */
export function torchSave(
  entries: readonly TorchEntry[],
  storages: ReadonlyMap<string, TorchStorage>,
  opts: TorchSaveOptions = {},
): Uint8Array {
  const top = opts.archiveName ?? 'archive';
  const enc = (s: string) => new TextEncoder().encode(s);
  const records: [string, Uint8Array][] = [
    [`${top}/data.pkl`, stateDictPickle(entries, storages, opts.metadata ?? true)],
    [`${top}/.format_version`, enc('1')],
    [`${top}/.storage_alignment`, enc('64')],
    [`${top}/byteorder`, enc('little')],
    ...[...storages].map(([key, st]): [string, Uint8Array] => [`${top}/data/${key}`, st.bytes]),
    [`${top}/version`, enc('3\n')],
    [`${top}/.data/serialization_id`, enc('1234567890123456789012345678901234567890')],
  ];
  return writeZip(records, opts.deflate ?? false);
}

/** torch.save of plain contiguous tensors, one storage each (f32 → FloatStorage, f64 → Double, i32 → Long or Int). */
export function torchSaveTensors(
  tensors: readonly RawTensor[],
  opts: TorchSaveOptions & { readonly intAsLong?: boolean } = {},
): Uint8Array {
  const storages = new Map<string, TorchStorage>();
  const entries: TorchEntry[] = tensors.map((t, i) => {
    const key = String(i);
    const long = t.dtype === 'i32' && (opts.intAsLong ?? true);
    const bytes = long
      ? new Uint8Array(BigInt64Array.from(Array.from(t.data, (v) => BigInt(v))).buffer)
      : new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
    storages.set(key, {
      type:
        t.dtype === 'f32' ? 'FloatStorage' : t.dtype === 'f64' ? 'DoubleStorage' : long ? 'LongStorage' : 'IntStorage',
      bytes,
    });
    const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    return { name: t.name, storageKey: key, offset: 0, size: t.shape, stride };
  });
  return torchSave(entries, storages, opts);
}
