/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`, then the
 * data section the offsets point into. Every field is checked before any tensor is allocated, so a
 * hostile header costs at most its own (bounded) size.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { decodeElements, isSourceDType } from './dtype-decode.ts';
import { duplicateTopLevelKey } from './json-duplicate-keys.ts';
import { loadError, orThrow, preview } from '../load-error.ts';
import type { LoadError } from '../load-error.ts';
import { formatShape, numelOf } from './raw-tensor.ts';
import type { FloatDType, RawTensor } from './raw-tensor.ts';

/** The same bound the reference implementation uses: no real header comes close. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Byte size of every dtype the format defines (we decode only a subset, see dtype-decode.ts). */
const DTYPE_SIZE: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Offsets inside the data section (not the file). */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly entries: readonly SafetensorsEntry[];
  readonly metadata: Readonly<Record<string, string>>;
  /** File offset of the data section (8 + header length). */
  readonly dataStart: number;
}

export interface SafetensorsFile {
  readonly tensors: readonly RawTensor[];
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ParseOptions {
  /** Float tensors are converted to this dtype (default 'f32'). */
  readonly floatDtype?: FloatDType;
  /** Decode only the tensors this accepts (the header is still fully validated). */
  readonly select?: (name: string) => boolean;
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

function checkEntry(name: string, raw: unknown, dataLen: number, file: string): Either<LoadError, SafetensorsEntry> {
  const bad = (detail: string) => E.left(loadError('format', file, `tensor "${name}": ${detail}`));
  if (!isRecord(raw)) return bad(`header entry must be an object, got ${preview(raw)}`);
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_SIZE, dtype)) return bad(`unknown dtype ${preview(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d): d is number => Number.isSafeInteger(d) && d >= 0)) {
    return bad(`shape must be an array of non-negative integers, got ${preview(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o): o is number => Number.isSafeInteger(o) && o >= 0)
  ) {
    return bad(`data_offsets must be [begin, end] non-negative integers, got ${preview(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLen) {
    return bad(`data_offsets [${begin}, ${end}] outside the data section of ${dataLen} bytes`);
  }
  // Multiply with an early exit so a hostile shape cannot overflow into a plausible size.
  const size = DTYPE_SIZE[dtype]!;
  let bytes = shape.includes(0) ? 0 : size;
  for (const d of bytes === 0 ? [] : shape) {
    bytes *= d;
    if (bytes > dataLen)
      return bad(`shape ${formatShape(shape)} × ${dtype} needs more bytes than the ${dataLen}-byte data section`);
  }
  if (bytes !== end - begin) {
    return bad(
      `shape ${formatShape(shape)} × ${dtype} is ${bytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  return E.right({ name, dtype, shape: [...shape], begin, end });
}

/** Validates the header against the file size; decodes nothing. */
export function readSafetensorsHeader(bytes: Uint8Array, file: string): Either<LoadError, SafetensorsHeader> {
  const fail = (detail: string) => E.left(loadError('format', file, detail));
  if (bytes.length < 8) return fail(`file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) return fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLen = Number(n);
  if (headerLen > bytes.length - 8)
    return fail(
      `header length ${headerLen} exceeds the ${bytes.length - 8} bytes after the length field (truncated file?)`,
    );
  let json: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
    json = JSON.parse(text);
  } catch (e) {
    return fail(
      `header (bytes 8..${8 + headerLen}) is not valid UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!isRecord(json)) return fail(`header must be a JSON object, got ${preview(json)}`);
  const dup = duplicateTopLevelKey(text);
  if (dup !== undefined) return fail(`the header names tensor "${dup}" more than once (which one is meant?)`);
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isRecord(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
        return fail(`__metadata__ must be an object of strings, got ${preview(raw)}`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const entry = checkEntry(name, raw, dataLen, file);
    if (E.isLeft(entry)) return entry;
    entries.push(entry.right);
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end) {
      return fail(
        `tensor "${cur.name}" data_offsets [${cur.begin}, ${cur.end}] overlap tensor "${prev.name}" [${prev.begin}, ${prev.end}]`,
      );
    }
    if (cur.begin > prev.end)
      return fail(`${cur.begin - prev.end} unreferenced bytes between tensor "${prev.name}" and "${cur.name}"`);
  }
  // As the reference reader: the tensors tile the data section exactly, from its first byte to its last.
  const first = sorted[0]?.begin ?? 0,
    end = sorted.at(-1)?.end ?? 0;
  if (first > 0) return fail(`${first} unreferenced bytes at the start of the data section`);
  if (end < dataLen)
    return fail(`${dataLen - end} trailing bytes after the data section (the tensors end at byte ${dataStart + end})`);
  return E.right({ entries, metadata, dataStart });
}

/** Parses a whole .safetensors buffer into RawTensors (header order). */
export function parseSafetensors(
  bytes: Uint8Array,
  file: string,
  opts: ParseOptions = {},
): Either<LoadError, SafetensorsFile> {
  const header = readSafetensorsHeader(bytes, file);
  if (E.isLeft(header)) return header;
  const { entries, metadata, dataStart } = header.right;
  const floatDtype = opts.floatDtype ?? 'f32';
  const tensors: RawTensor[] = [];
  for (const entry of entries) {
    if (opts.select && !opts.select(entry.name)) continue;
    if (!isSourceDType(entry.dtype)) {
      return E.left(
        loadError(
          'unsupported',
          file,
          `tensor "${entry.name}" ${formatShape(entry.shape)}: dtype ${entry.dtype} is not supported (F32, F16, BF16, F64, I32, I64 are)`,
        ),
      );
    }
    const slice = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    const data = decodeElements(slice, entry.dtype, floatDtype);
    if (E.isLeft(data)) {
      return E.left(
        loadError(
          'unsupported',
          file,
          `tensor "${entry.name}" ${formatShape(entry.shape)} ${entry.dtype}: ${data.left}`,
        ),
      );
    }
    const dtype = entry.dtype === 'I32' || entry.dtype === 'I64' ? 'i32' : floatDtype;
    tensors.push({ name: entry.name, dtype, shape: entry.shape, data: data.right });
  }
  return E.right({ tensors, metadata });
}

export const parseSafetensorsOrThrow = (bytes: Uint8Array, file: string, opts: ParseOptions = {}): SafetensorsFile =>
  orThrow(parseSafetensors(bytes, file, opts));

const WRITE_DTYPE = { f32: 'F32', f64: 'F64', i32: 'I32' } as const;
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Writes tensors as safetensors (F32 / F64 / I32). Header keys are sorted by name (`__metadata__`
 * first); data is laid out widest dtype first so every tensor is naturally aligned, and the header
 * is padded with spaces to a multiple of 8 bytes, as Hugging Face's writer does. Throws on
 * duplicate names or a data/shape mismatch (a programming error, not a file problem).
 */
export function serializeSafetensors(
  tensors: readonly RawTensor[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const names = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__' || names.has(t.name))
      throw new Error(`serializeSafetensors: duplicate or reserved tensor name "${t.name}"`);
    names.add(t.name);
    if (numelOf(t.shape) !== t.data.length) {
      throw new Error(
        `serializeSafetensors: tensor "${t.name}" shape ${formatShape(t.shape)} needs ${numelOf(t.shape)} elements, data has ${t.data.length}`,
      );
    }
    const ok =
      t.dtype === 'f64'
        ? t.data instanceof Float64Array
        : t.dtype === 'f32'
          ? t.data instanceof Float32Array
          : t.data instanceof Int32Array;
    if (!ok)
      throw new Error(`serializeSafetensors: tensor "${t.name}" has dtype ${t.dtype} but a ${t.data.constructor.name}`);
  }
  const byName = (a: RawTensor, b: RawTensor) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const layout = [...tensors].sort((a, b) => b.data.BYTES_PER_ELEMENT - a.data.BYTES_PER_ELEMENT || byName(a, b));
  const offsets = new Map<string, [number, number]>();
  let pos = 0;
  for (const t of layout) {
    offsets.set(t.name, [pos, pos + t.data.byteLength]);
    pos += t.data.byteLength;
  }
  // Built by hand: JSON.stringify would reorder integer-like keys such as "0".
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  for (const t of [...tensors].sort(byName)) {
    const entry = { dtype: WRITE_DTYPE[t.dtype], shape: t.shape, data_offsets: offsets.get(t.name) };
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify(entry)}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLen = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerLen + pos);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  for (const t of layout) {
    const at = 8 + headerLen + offsets.get(t.name)![0];
    if (HOST_LE) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    } else {
      for (let i = 0; i < t.data.length; i++) {
        const v = t.data[i]!;
        if (t.dtype === 'f64') dv.setFloat64(at + i * 8, v, true);
        else if (t.dtype === 'f32') dv.setFloat32(at + i * 4, v, true);
        else dv.setInt32(at + i * 4, v, true);
      }
    }
  }
  return out;
}
