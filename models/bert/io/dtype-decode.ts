/**
 * Decoding of the element types checkpoints store (safetensors dtypes, torch storages) into the
 * three RawTensor dtypes. Floats go to the requested float dtype; F16/BF16 are decoded exactly
 * (every such value is representable in f32). I64 goes to i32 with a range check (ids, position
 * buffers); anything else is the caller's job to refuse.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { FloatDType, RawData } from './raw-tensor.ts';

export type SourceDType = 'F16' | 'BF16' | 'F32' | 'F64' | 'I32' | 'I64';

export const SOURCE_DTYPE_SIZE: Readonly<Record<SourceDType, number>> = {
  F16: 2,
  BF16: 2,
  F32: 4,
  F64: 8,
  I32: 4,
  I64: 8,
};

export const isSourceDType = (s: string): s is SourceDType => Object.hasOwn(SOURCE_DTYPE_SIZE, s);

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let f16Table: Float32Array | undefined;
/** All 65536 half-precision values, built once: exact and far faster than decoding per element. */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const man = h & 0x3ff;
    t[h] =
      exp === 0
        ? sign * man * 2 ** -24
        : exp === 31
          ? man === 0
            ? sign * Infinity
            : NaN
          : sign * (1 + man / 1024) * 2 ** (exp - 15);
  }
  return (f16Table = t);
}

const allocFloat = (dtype: FloatDType, n: number): Float32Array | Float64Array =>
  dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);

/**
 * Decodes `bytes` (exactly count × size bytes, any alignment) as `src` elements.
 * Left is a short description of the offending element (I64 out of int32 range).
 */
export function decodeElements(
  bytes: Uint8Array,
  src: SourceDType,
  floatDtype: FloatDType,
  littleEndian = true,
): E.Either<string, RawData> {
  const size = SOURCE_DTYPE_SIZE[src];
  const n = Math.floor(bytes.length / size);
  // A fresh, aligned copy lets us view the bytes directly when the byte order matches the host.
  const fast = littleEndian === HOST_LE;
  // Uint8Array.prototype.slice copies even when `bytes` is a Node Buffer (whose own slice is a view of a pooled buffer)
  const buf = fast ? Uint8Array.prototype.slice.call(bytes, 0, n * size).buffer : new ArrayBuffer(0);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (src) {
    case 'F32': {
      if (fast) {
        const v = new Float32Array(buf);
        return E.right(floatDtype === 'f32' ? v : Float64Array.from(v));
      }
      const out = allocFloat(floatDtype, n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, littleEndian);
      return E.right(out);
    }
    case 'F64': {
      if (fast) {
        const v = new Float64Array(buf);
        return E.right(floatDtype === 'f64' ? v : Float32Array.from(v));
      }
      const out = allocFloat(floatDtype, n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, littleEndian);
      return E.right(out);
    }
    case 'F16': {
      const table = halfTable();
      const out = allocFloat(floatDtype, n);
      for (let i = 0; i < n; i++) out[i] = table[dv.getUint16(i * 2, littleEndian)]!;
      return E.right(out);
    }
    case 'BF16': {
      // bf16 is the top half of an f32: widen the bits, reinterpret.
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = dv.getUint16(i * 2, littleEndian) << 16;
      const f = new Float32Array(bits.buffer);
      return E.right(floatDtype === 'f32' ? f : Float64Array.from(f));
    }
    case 'I32': {
      if (fast) return E.right(new Int32Array(buf));
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, littleEndian);
      return E.right(out);
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = dv.getInt32(i * 8 + (littleEndian ? 0 : 4), littleEndian);
        const hi = dv.getInt32(i * 8 + (littleEndian ? 4 : 0), littleEndian);
        // Fits in int32 exactly when the high word is the sign extension of the low one.
        if (hi !== lo >> 31) {
          return E.left(`element ${i} = ${dv.getBigInt64(i * 8, littleEndian)} does not fit in int32`);
        }
        out[i] = lo;
      }
      return E.right(out);
    }
  }
}
