// Precompressed shared weights: fp16, and int8 symmetric per output row (dequantized on the GPU).
// int8 in a bundle: "<W>" (I8, same shape as W) + "<W>.scale" (F32, one per row) - docs/bundle-format.md.
import { f16ToF32Array, f32ToF16Array } from '../dtype/float16.ts';

export class QuantError extends Error {
  constructor(
    readonly tensor: string,
    message: string,
  ) {
    super(`${tensor}: ${message}`);
    this.name = 'QuantError';
  }
}

function checkFinite(name: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) throw new QuantError(name, `non-finite value ${data[i]} at index ${i}`);
}

/** float32 -> IEEE binary16 bits (round to nearest even; values beyond ±65504 become ±Inf, so refused). */
export function quantizeF16(data: Float32Array, name = '<tensor>'): Uint16Array {
  checkFinite(name, data);
  const out = f32ToF16Array(data);
  for (let i = 0; i < out.length; i++) {
    if ((out[i]! & 0x7c00) === 0x7c00) throw new QuantError(name, `value ${data[i]} at index ${i} overflows float16 (max 65504)`);
  }
  return out;
}

export function dequantizeF16(bits: Uint16Array): Float32Array {
  return f16ToF32Array(bits);
}

export interface Int8Rows {
  /** Row-major int8 values in [-127, 127]. */
  readonly q: Int8Array;
  /** One scale per row: max|row| / 127 (0 for an all-zero row). */
  readonly scale: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

/** Rows and columns for per-row quantization: [out, in] -> (out, in); 1-D [n] -> one row. */
export function rowsOf(shape: readonly number[]): { rows: number; cols: number } {
  if (shape.length === 1) return { rows: 1, cols: shape[0]! };
  if (shape.length === 2) return { rows: shape[0]!, cols: shape[1]! };
  throw new RangeError(`per-row int8 needs a 1-D or 2-D tensor, got [${shape.join(', ')}]`);
}

/**
 * Symmetric per-row int8: scale_i = max_j |W_ij| / 127 (stored as float32), q_ij = round(W_ij / scale_i)
 * with ties away from zero, clamped to [-127, 127]. Dequantized value q_ij * scale_i is within
 * scale_i / 2 of W_ij.
 */
export function quantizeInt8Rows(data: Float32Array, shape: readonly number[], name = '<tensor>'): Int8Rows {
  const { rows, cols } = rowsOf(shape);
  if (data.length !== rows * cols) throw new QuantError(name, `${data.length} elements is not [${shape.join(', ')}]`);
  checkFinite(name, data);
  const q = new Int8Array(data.length);
  const scale = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let m = 0;
    for (let j = 0; j < cols; j++) m = Math.max(m, Math.abs(data[o + j]!));
    const s = Math.fround(m / 127);
    scale[i] = s;
    if (s === 0) continue; // all-zero row (or only subnormal-underflowing values): q stays 0
    for (let j = 0; j < cols; j++) {
      const x = data[o + j]! / s;
      let r = Math.sign(x) * Math.round(Math.abs(x));
      if (r > 127) r = 127;
      else if (r < -127) r = -127;
      q[o + j] = r;
    }
  }
  return { q, scale, rows, cols };
}

export function dequantizeInt8Rows(t: Int8Rows, out: Float32Array = new Float32Array(t.q.length)): Float32Array {
  const { q, scale, rows, cols } = t;
  if (q.length !== rows * cols || scale.length !== rows) throw new RangeError('dequantizeInt8Rows: inconsistent sizes');
  for (let i = 0; i < rows; i++) {
    const s = scale[i]!;
    const o = i * cols;
    for (let j = 0; j < cols; j++) out[o + j] = q[o + j]! * s;
  }
  return out;
}
