// Widening any numeric tensor to Float32Array, the form merge/SVD code works in.
import { bf16ToF32Array, f16ToF32Array } from '../dtype/index.ts';
import { SafetensorsError } from './errors.ts';
import type { Tensor } from './reader.ts';

/**
 * F32 is returned as is (no copy); F16/BF16 are widened exactly; other numeric dtypes are
 * rounded to f32 (I64/U64 via Number, so magnitudes above 2^53 lose precision anyway).
 * F8 dtypes are not decoded and throw BAD_DATA.
 */
export function toFloat32(t: Tensor, file = '<memory>'): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return t.data as Float32Array;
    case 'F16':
      return f16ToF32Array(t.data as Uint16Array);
    case 'BF16':
      return bf16ToF32Array(t.data as Uint16Array);
    case 'F8_E4M3':
    case 'F8_E5M2':
      throw new SafetensorsError('BAD_DATA', file, `${t.dtype} cannot be widened to F32`, { tensor: t.name });
    case 'I64':
    case 'U64': {
      const src = t.data as BigInt64Array | BigUint64Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]!);
      return out;
    }
    default:
      return Float32Array.from(t.data as ArrayLike<number>);
  }
}
