/**
 * A minimal, bounded ZIP reader for torch.save archives. We parse the central directory ourselves
 * (fflate's unzipSync trusts the entry count, which a hostile zip64 record can set to 2^32) and only
 * inflate the entries we ask for, into buffers whose size is checked against the compressed size.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { inflateSync } from 'fflate';
import { fromThrown, loadError } from '../load-error.ts';
import type { LoadError } from '../load-error.ts';

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly compression: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** Deflate cannot expand data by more than ~1032:1; a bigger claimed size is a lie (or a bomb). */
const MAX_DEFLATE_RATIO = 1032;
const MAX_ENTRY_BYTES = 2 ** 31 - 1;

/** Lists the archive's entries; fails if any directory field points outside the file. */
export function listZip(bytes: Uint8Array, file: string): Either<LoadError, readonly ZipEntry[]> {
  const fail = (detail: string) => E.left(loadError('format', file, `zip: ${detail}`));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  const u16 = (o: number) => dv.getUint16(o, true);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u64 = (o: number) => {
    const v = dv.getBigUint64(o, true);
    return v > BigInt(len) ? Infinity : Number(v);
  };
  let eocd = -1;
  for (let p = len - 22; p >= 0 && p >= len - 22 - 0xffff; p--) {
    if (u32(p) === EOCD) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) return fail('no end-of-central-directory record (not a zip, or truncated)');
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  if (eocd >= 20 && u32(eocd - 20) === EOCD64_LOCATOR) {
    const at = u64(eocd - 12);
    if (!(at + 56 <= len) || u32(at) !== EOCD64)
      return fail(`zip64 locator points to offset ${at}, which holds no zip64 record`);
    count = u64(at + 32);
    cdSize = u64(at + 40);
    cdOffset = u64(at + 48);
  }
  if (!(cdOffset + cdSize <= len))
    return fail(`central directory [${cdOffset}, +${cdSize}) lies outside the ${len}-byte file`);
  if (count * 46 > cdSize) return fail(`${count} entries cannot fit a ${cdSize}-byte central directory`);
  const entries: ZipEntry[] = [];
  const end = cdOffset + cdSize;
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > end || u32(p) !== CENTRAL) return fail(`central directory entry ${i} at offset ${p} is malformed`);
    const nameLen = u16(p + 28);
    const extraLen = u16(p + 30);
    const commentLen = u16(p + 32);
    if (p + 46 + nameLen + extraLen + commentLen > end)
      return fail(`central directory entry ${i} at offset ${p} overruns the directory`);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    let compressedSize = u32(p + 20);
    let size = u32(p + 24);
    let localHeaderOffset = u32(p + 42);
    // Zip64 extra field: 64-bit values for exactly those fields saturated at 0xffffffff, in order.
    for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen;) {
      const id = u16(x);
      const n = u16(x + 2);
      if (x + 4 + n > p + 46 + nameLen + extraLen) return fail(`entry "${name}": extra field overruns the entry`);
      if (id === 0x0001) {
        let q = x + 4;
        const take = () => {
          if (q + 8 > x + 4 + n) return NaN;
          const v = u64(q);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      x += 4 + n;
    }
    if (!(localHeaderOffset + 30 <= len) || !(compressedSize <= len) || !Number.isFinite(size)) {
      return fail(
        `entry "${name}": sizes/offset (${compressedSize}, ${size}, @${localHeaderOffset}) do not fit the ${len}-byte file`,
      );
    }
    entries.push({ name, compression: u16(p + 10), compressedSize, size, localHeaderOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return E.right(entries);
}

/** The entry's bytes: a view into `bytes` when stored, a fresh buffer when deflated. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, file: string): Either<LoadError, Uint8Array> {
  const fail = (detail: string) => E.left(loadError('format', file, `zip entry "${entry.name}": ${detail}`));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.localHeaderOffset;
  if (at + 30 > bytes.length || dv.getUint32(at, true) !== LOCAL) return fail(`no local header at offset ${at}`);
  const start = at + 30 + dv.getUint16(at + 26, true) + dv.getUint16(at + 28, true);
  const stop = start + entry.compressedSize;
  if (stop > bytes.length)
    return fail(`data [${start}, ${stop}) runs past the end of the ${bytes.length}-byte file (truncated?)`);
  const raw = bytes.subarray(start, stop);
  if (entry.compression === 0) {
    if (entry.size !== entry.compressedSize)
      return fail(`stored entry claims ${entry.size} bytes but holds ${entry.compressedSize}`);
    return E.right(raw);
  }
  if (entry.compression !== 8)
    return E.left(
      loadError(
        'unsupported',
        file,
        `zip entry "${entry.name}": compression method ${entry.compression} (only stored and deflate are supported)`,
      ),
    );
  if (entry.size > MAX_ENTRY_BYTES || entry.size > entry.compressedSize * MAX_DEFLATE_RATIO + 1024) {
    return fail(`claims ${entry.size} bytes from ${entry.compressedSize} compressed: refused`);
  }
  try {
    const out = inflateSync(raw, { out: new Uint8Array(entry.size) });
    if (out.length !== entry.size) return fail(`inflated to ${out.length} bytes, the directory says ${entry.size}`);
    return E.right(out);
  } catch (e) {
    return E.left(fromThrown('format', file, `zip entry "${entry.name}": corrupt deflate data`, e));
  }
}
