// IEEE 754 binary16 <-> binary32, exact, round-to-nearest-even.
// The array functions work on bit patterns (Uint32 views), so NaN payloads survive
// f16 -> f32 -> f16 unchanged; the scalar functions go through JS numbers.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Bits of a binary32 value (x is first rounded to f32 with Math.fround semantics). */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

/** binary32 bits -> binary16 bits, round-to-nearest-even, overflow to ±Inf. */
export function f32BitsToF16Bits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    // NaN: keep the top payload bits; if they are all zero, set the quiet bit so it stays NaN.
    const m = mant >>> 13;
    return sign | 0x7c00 | (m === 0 ? 0x200 : m);
  }
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal (or zero) result. Below 2^-25 everything rounds to ±0.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e; // 14..24
    const half = 1 << (shift - 1);
    const rem = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rem > half || (rem === half && (r & 1) === 1)) r++; // may carry into the smallest normal: correct
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r++; // a carry into exponent 31 is Inf: correct
  return sign | r;
}

/** binary16 bits -> binary32 bits (exact; NaN payload kept). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal f16 is a normal f32: normalise the mantissa.
  let m = mant;
  let e = 127 - 15 + 1;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** number -> binary16 bits (via f32). */
export function f32ToF16Bits(x: number): number {
  return f32BitsToF16Bits(f32Bits(x));
}

/** binary16 bits -> number (exact). */
export function f16BitsToF32(h: number): number {
  u32[0] = f16BitsToF32Bits(h);
  return f32[0]!;
}

// 65536-entry table: f16 -> f32 bits, built on first bulk use (256 KiB).
let table: Uint32Array | undefined;
function f16Table(): Uint32Array {
  if (!table) {
    table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = f16BitsToF32Bits(h);
  }
  return table;
}

/** Bulk f16 bits -> Float32Array (bit-exact, NaN payloads kept). */
export function f16ToF32Array(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  if (dst.length !== src.length) throw new RangeError('f16ToF32Array: length mismatch');
  const t = f16Table();
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]!]!;
  return dst;
}

/** Bulk Float32Array -> f16 bits, round-to-nearest-even. */
export function f32ToF16Array(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  if (dst.length !== src.length) throw new RangeError('f32ToF16Array: length mismatch');
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = f32BitsToF16Bits(bits[i]!);
  return dst;
}
