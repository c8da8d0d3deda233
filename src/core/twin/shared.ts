// The shared expert as stored (Twin-Merging step 1): theta_s kept at f32, f16 or int8 with per-row
// scales (1-D tensors always f32). What every consumer computes with is the DEQUANTIZED value, so
// exclusive modules are residuals against exactly what the app reads back.
import { dequantizeF16, dequantizeInt8Rows, quantizeF16, quantizeInt8Rows } from '../quant/index.ts';
import type { TensorSpec } from '../safetensors/index.ts';

export type SharedDtype = 'f32' | 'f16' | 'int8';
export type ExclusiveDtype = 'f32' | 'f16';

/** A checkpoint weight the pipeline handles: its HF name and shape ([out, in] for matrices). */
export interface TwinWeight {
  readonly name: string;
  readonly shape: readonly number[];
}

/** A shared tensor as stored in shared.safetensors (checkpoint layout). */
export type StoredShared =
  | { readonly dtype: 'f32'; readonly data: Float32Array }
  /** Raw IEEE half bits. */
  | { readonly dtype: 'f16'; readonly data: Uint16Array }
  /** w = q * scale[row]. */
  | { readonly dtype: 'int8'; readonly data: Int8Array; readonly scale: Float32Array };

const numelOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** theta_s for one weight → how it is stored at `dtype`. */
export function storeShared(w: TwinWeight, data: Float32Array, dtype: SharedDtype): StoredShared {
  if (w.shape.length === 1 || dtype === 'f32') return { dtype: 'f32', data };
  if (dtype === 'f16') return { dtype: 'f16', data: quantizeF16(data, w.name) };
  const q = quantizeInt8Rows(data, w.shape, w.name);
  return { dtype: 'int8', data: q.q, scale: q.scale };
}

/** What the app computes with: the stored tensor as float32 (checkpoint layout). */
export function dequantShared(w: TwinWeight, s: StoredShared): Float32Array {
  if (s.dtype === 'f32') return s.data;
  if (s.dtype === 'f16') return dequantizeF16(s.data);
  return dequantizeInt8Rows({ q: s.data, scale: s.scale, rows: w.shape[0]!, cols: w.shape.length === 2 ? w.shape[1]! : 1 });
}

/** shared.safetensors' tensor list, in weight order (int8 adds "<W>.scale" [rows] f32). */
export function sharedSpecs(weights: readonly TwinWeight[], dtype: SharedDtype): TensorSpec[] {
  return weights.flatMap((w): TensorSpec[] => {
    if (w.shape.length === 1 || dtype === 'f32') return [{ name: w.name, dtype: 'F32', shape: w.shape }];
    if (dtype === 'f16') return [{ name: w.name, dtype: 'F16', shape: w.shape }];
    return [
      { name: w.name, dtype: 'I8', shape: w.shape },
      { name: `${w.name}.scale`, dtype: 'F32', shape: [w.shape[0]!] },
    ];
  });
}

/** The stored tensor's parts, by file tensor name, in the order sharedSpecs lists them. */
export function sharedParts(w: TwinWeight, s: StoredShared): [string, Float32Array | Uint16Array | Int8Array][] {
  return s.dtype === 'int8' ? [[w.name, s.data], [`${w.name}.scale`, s.scale]] : [[w.name, s.data]];
}

/** Data bytes of the shared model as stored. */
export function sharedBytes(weights: readonly TwinWeight[], dtype: SharedDtype): number {
  let b = 0;
  for (const w of weights) {
    const n = numelOf(w.shape);
    if (w.shape.length === 1 || dtype === 'f32') b += 4 * n;
    else if (dtype === 'f16') b += 2 * n;
    else b += n + 4 * w.shape[0]!;
  }
  return b;
}
