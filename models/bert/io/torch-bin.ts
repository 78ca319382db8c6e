/**
 * pytorch_model.bin (torch.save's zip format, torch ≥ 1.6): `<top>/data.pkl` is a pickled
 * state_dict whose tensors point, through persistent ids, at raw storages `<top>/data/<key>`.
 * The pickle is read by the restricted unpickler with an allow-list of exactly the globals a
 * state_dict needs; views (storage offset, strides) are copied out contiguous.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { decodeElements } from './dtype-decode.ts';
import type { SourceDType } from './dtype-decode.ts';
import { loadError, orThrow } from '../load-error.ts';
import type { LoadError } from '../load-error.ts';
import { PickleError, PyDict, PyGlobal, PyTuple, unpickle } from './pickle.ts';
import type { PyValue, UnpickleHooks } from './pickle.ts';
import { formatShape, numelOf } from './raw-tensor.ts';
import type { FloatDType, RawData, RawTensor } from './raw-tensor.ts';
import { listZip, readZipEntry } from './zip-reader.ts';
import type { ZipEntry } from './zip-reader.ts';

export const STORAGE_DTYPES: Readonly<Record<string, SourceDType>> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
};
const SIZE: Readonly<Record<SourceDType, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4 };

class StorageType {
  constructor(
    readonly name: string,
    readonly dtype: SourceDType,
  ) {}
}
class StorageRef {
  constructor(
    readonly key: string,
    readonly type: StorageType,
    readonly numel: number,
  ) {}
}
class TensorView {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: readonly number[],
    readonly stride: readonly number[],
  ) {}
}
class Refused extends Error {}

const ORDERED_DICT = new PyGlobal('collections', 'OrderedDict');
const REBUILD_TENSOR = new PyGlobal('torch._utils', '_rebuild_tensor_v2');
const REBUILD_PARAMETER = new PyGlobal('torch._utils', '_rebuild_parameter');

const isIndex = (v: PyValue): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const intTuple = (v: PyValue, what: string): number[] => {
  if (!(v instanceof PyTuple) || !v.items.every(isIndex))
    throw new Error(`${what} must be a tuple of non-negative integers`);
  return v.items as number[];
};
const describe = (v: PyValue): string =>
  v instanceof PyGlobal
    ? v.qualified
    : v === null
      ? 'None'
      : v instanceof PyTuple
        ? 'tuple'
        : v instanceof PyDict
          ? 'dict'
          : Array.isArray(v)
            ? 'list'
            : typeof v;

function stateDictHooks(): UnpickleHooks {
  const storages = new Map<string, StorageRef>();
  return {
    global(module, name) {
      const q = `${module}.${name}`;
      if (q === ORDERED_DICT.qualified) return ORDERED_DICT;
      if (q === REBUILD_TENSOR.qualified) return REBUILD_TENSOR;
      if (q === REBUILD_PARAMETER.qualified) return REBUILD_PARAMETER;
      if (module === 'torch' && Object.hasOwn(STORAGE_DTYPES, name))
        return new StorageType(name, STORAGE_DTYPES[name]!);
      if (q === 'torch.storage._load_from_bytes')
        throw new Refused(`refused global ${q} (legacy storage pickling that would run torch.load)`);
      throw new Refused(`refused global ${q}: only a plain state_dict of tensors can be loaded`);
    },
    persistentLoad(pid) {
      const it = pid instanceof PyTuple ? pid.items : [];
      const [tag, type, key, , numel] = it;
      if (
        it.length !== 5 ||
        tag !== 'storage' ||
        !(type instanceof StorageType) ||
        typeof key !== 'string' ||
        !isIndex(numel ?? null)
      ) {
        throw new Error("persistent id is not ('storage', torch.<T>Storage, key, location, numel)");
      }
      const known = storages.get(key);
      if (known && (known.type.name !== type.name || known.numel !== numel))
        throw new Error(`storage ${key} is declared twice with different types or sizes`);
      const ref = known ?? new StorageRef(key, type, numel as number);
      storages.set(key, ref);
      return ref;
    },
    reduce(fn, args) {
      const a = args.items;
      if (fn === ORDERED_DICT && a.length === 0) return new PyDict();
      if (fn === REBUILD_TENSOR && (a.length === 6 || a.length === 7)) {
        const [storage, offset, size, stride] = a;
        if (!(storage instanceof StorageRef)) throw new Error('_rebuild_tensor_v2: first argument is not a storage');
        if (!isIndex(offset ?? null))
          throw new Error('_rebuild_tensor_v2: storage offset must be a non-negative integer');
        const sz = intTuple(size ?? null, '_rebuild_tensor_v2 size');
        const st = intTuple(stride ?? null, '_rebuild_tensor_v2 stride');
        if (sz.length !== st.length)
          throw new Error(`_rebuild_tensor_v2: size ${formatShape(sz)} and stride ${formatShape(st)} differ in rank`);
        return new TensorView(storage, offset as number, sz, st);
      }
      if (fn === REBUILD_PARAMETER && a.length === 3 && a[0] instanceof TensorView) return a[0];
      throw new Error(`cannot call ${describe(fn)} with ${a.length} arguments here`);
    },
    build(obj) {
      // OrderedDict state (state_dict's `_metadata` version info) is irrelevant to the weights.
      if (!(obj instanceof PyDict)) throw new Error(`BUILD on ${describe(obj)} is not supported`);
    },
  };
}

/** Copies a (possibly strided) view out of its decoded storage as a contiguous array. */
function gather(src: RawData, view: TensorView, numel: number): RawData {
  const { offset, size, stride } = view;
  const out = new (src.constructor as new (n: number) => RawData)(numel);
  let expected = 1;
  let contiguous = true;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d]! !== 1 && stride[d]! !== expected) contiguous = false;
    expected *= size[d]!;
  }
  if (contiguous) {
    out.set(src.subarray(offset, offset + numel));
    return out;
  }
  const idx = new Array<number>(size.length).fill(0);
  let at = offset;
  for (let i = 0; i < numel; i++) {
    out[i] = src[at]!;
    for (let d = size.length - 1; d >= 0; d--) {
      idx[d]!++;
      at += stride[d]!;
      if (idx[d]! < size[d]!) break;
      at -= stride[d]! * size[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

export interface TorchBinOptions {
  readonly floatDtype?: FloatDType;
}

/** Reads a torch.save zip holding a state_dict of tensors. */
export function parseTorchBin(
  bytes: Uint8Array,
  file: string,
  opts: TorchBinOptions = {},
): Either<LoadError, readonly RawTensor[]> {
  const floatDtype = opts.floatDtype ?? 'f32';
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b)) {
    return bytes[0] === 0x80
      ? E.left(
          loadError(
            'unsupported',
            file,
            'legacy (pre-1.6, non-zip) torch.save format: re-save with a recent torch or convert to safetensors',
          ),
        )
      : E.left(loadError('format', file, 'not a torch.save zip archive (no PK signature)'));
  }
  const listed = listZip(bytes, file);
  if (E.isLeft(listed)) return listed;
  const byName = new Map<string, ZipEntry>(listed.right.map((e) => [e.name, e]));
  const pkls = listed.right.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pkls.length !== 1)
    return E.left(
      loadError('format', file, `expected exactly one <folder>/data.pkl in the archive, found ${pkls.length}`),
    );
  const pklEntry = pkls[0]!;
  const prefix = pklEntry.name.slice(0, -'data.pkl'.length);
  const fail = (detail: string) => E.left(loadError('format', file, detail));

  let littleEndian = true;
  const order = byName.get(`${prefix}byteorder`);
  if (order) {
    const b = readZipEntry(bytes, order, file);
    if (E.isLeft(b)) return b;
    const s = new TextDecoder().decode(b.right);
    if (s !== 'little' && s !== 'big')
      return fail(`${order.name}: unknown byte order ${JSON.stringify(s.slice(0, 20))}`);
    littleEndian = s === 'little';
  }

  const pkl = readZipEntry(bytes, pklEntry, file);
  if (E.isLeft(pkl)) return pkl;
  let root: PyValue;
  try {
    root = unpickle(pkl.right, stateDictHooks());
  } catch (e) {
    const refused = e instanceof PickleError && e.cause instanceof Refused;
    const msg = e instanceof Error ? e.message : String(e);
    return E.left(loadError(refused ? 'refused' : 'format', file, `${pklEntry.name}: ${msg}`));
  }
  if (!(root instanceof PyDict))
    return fail(
      `${pklEntry.name}: top-level object is ${describe(root)}, expected a state_dict (OrderedDict of tensors)`,
    );

  const decoded = new Map<string, RawData>();
  const tensors: RawTensor[] = [];
  for (const [name, value] of root.map) {
    if (typeof name !== 'string') return fail(`${pklEntry.name}: state_dict key ${String(name)} is not a string`);
    if (!(value instanceof TensorView))
      return fail(
        `${pklEntry.name}: "${name}" is a ${describe(value)}, not a tensor (nested checkpoints are not supported)`,
      );
    const { storage, offset, size, stride } = value;
    const where = `tensor "${name}" ${formatShape(size)} (storage ${storage.key}, offset ${offset}, stride ${formatShape(stride)})`;
    const numel = numelOf(size);
    if (numel > 0) {
      const last = size.reduce((acc, s, d) => acc + (s - 1) * stride[d]!, offset);
      if (last >= storage.numel) return fail(`${where} reaches element ${last} of a storage with ${storage.numel}`);
      if (numel > storage.numel)
        return E.left(loadError('unsupported', file, `${where} is larger than its storage (an expanded view)`));
    }
    let data = decoded.get(storage.key);
    if (!data) {
      const entryName = `${prefix}data/${storage.key}`;
      const entry = byName.get(entryName);
      if (!entry) return fail(`${where}: archive has no ${entryName}`);
      const want = storage.numel * SIZE[storage.type.dtype];
      if (entry.size !== want)
        return fail(
          `${where}: ${entryName} holds ${entry.size} bytes, ${storage.numel} × ${storage.type.name} needs ${want}`,
        );
      const raw = readZipEntry(bytes, entry, file);
      if (E.isLeft(raw)) return raw;
      const dec = decodeElements(raw.right, storage.type.dtype, floatDtype, littleEndian);
      if (E.isLeft(dec)) return E.left(loadError('unsupported', file, `${where}: ${dec.left}`));
      data = dec.right;
      decoded.set(storage.key, data);
    }
    const dtype = storage.type.dtype === 'I64' || storage.type.dtype === 'I32' ? 'i32' : floatDtype;
    tensors.push({ name, dtype, shape: [...size], data: gather(data, value, numel) });
  }
  return E.right(tensors);
}

export const parseTorchBinOrThrow = (
  bytes: Uint8Array,
  file: string,
  opts: TorchBinOptions = {},
): readonly RawTensor[] => orThrow(parseTorchBin(bytes, file, opts));
