// bfloat16 <-> binary32. bf16 is the top half of an f32, so widening is a shift and
// narrowing is a round-to-nearest-even of the low 16 bits.
import { f32Bits } from './float16.ts';

/** binary32 bits -> bf16 bits, round-to-nearest-even, overflow to ±Inf, NaN stays NaN. */
export function f32BitsToBf16Bits(u: number): number {
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) {
    const r = u >>> 16;
    // Truncation could clear every mantissa bit (turning NaN into Inf): set the quiet bit then.
    return (r & 0x7f) === 0 ? r | 0x40 : r;
  }
  // Adding 0x7fff (+1 when the kept lsb is odd) implements ties-to-even; carries into the
  // exponent are exactly the round-up-to-next-binade / overflow-to-Inf cases.
  return ((u >>> 0) + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

export function bf16BitsToF32Bits(h: number): number {
  return (h << 16) >>> 0;
}

export function f32ToBf16Bits(x: number): number {
  return f32BitsToBf16Bits(f32Bits(x));
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function bf16BitsToF32(h: number): number {
  u32[0] = bf16BitsToF32Bits(h);
  return f32[0]!;
}

/** Bulk bf16 bits -> Float32Array (bit-exact). */
export function bf16ToF32Array(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  if (dst.length !== src.length) throw new RangeError('bf16ToF32Array: length mismatch');
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return dst;
}

/** Bulk Float32Array -> bf16 bits, round-to-nearest-even. */
export function f32ToBf16Array(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  if (dst.length !== src.length) throw new RangeError('f32ToBf16Array: length mismatch');
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = f32BitsToBf16Bits(bits[i]!);
  return dst;
}
