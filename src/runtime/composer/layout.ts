// The GPU composer's device layout. It writes [in, out] for a weight stored as [out, in] (what ORT's
// MatMul reads); weights the graph takes untransposed (embed_tokens) are handed over transposed
// (W^T = S^T + A^T B^T), and 1-D weights are [n, 1] with their delta as a rank-1 factor (A = [1]).
import { denseAsFactors, dequantShared, type ExclusiveEntry, type StoredShared } from '../../core/twin/index.ts';
import { transpose } from '../../core/tensor/tensor.ts';
import type { WeightInfo } from '../../model/llama.ts';
import type { ComposerWeight, LowRankFactor } from './types.ts';

/** The composer's view of a checkpoint weight: [out, in], or [in, out] for untransposed 2-D graph inputs, or [n, 1]. */
export function composerShape(w: WeightInfo): { outDim: number; inDim: number; flip: boolean } {
  if (w.shape.length === 1) return { outDim: w.shape[0]!, inDim: 1, flip: false };
  const [rows, cols] = w.shape as [number, number];
  return w.transposed ? { outDim: rows, inDim: cols, flip: false } : { outDim: cols, inDim: rows, flip: true };
}

/**
 * A stored shared tensor in the device layout; f16 stays packed (dequantized on the GPU), flipped or
 * not (the embedding is the largest weight: as f32 it would double its bytes), and so does unflipped int8.
 */
export function layoutWeight(w: WeightInfo, s: StoredShared): ComposerWeight {
  const { outDim, inDim, flip } = composerShape(w);
  if (!flip && (s.dtype !== 'int8' || w.shape.length === 2)) return { name: w.name, outDim, inDim, shared: s };
  if (flip && s.dtype === 'f16') return { name: w.name, outDim, inDim, shared: { dtype: 'f16', data: transpose(s.data, w.shape[0]!, w.shape[1]!) } };
  // Per-row scales do not survive a transpose (and 1-D int8 never occurs): dequantize these few on the CPU.
  const f = dequantShared(w, s);
  return { name: w.name, outDim, inDim, shared: { dtype: 'f32', data: flip ? transpose(f, w.shape[0]!, w.shape[1]!) : f } };
}

/** An exclusive-module entry in the device layout. */
export function layoutFactor(entry: ExclusiveEntry, w: WeightInfo): LowRankFactor {
  // A dense 2-D delta (a base delta stored densely) goes through the factor path as exact factors.
  const e = entry.kind === 'delta' && entry.shape.length === 2 ? denseAsFactors(entry) : entry;
  if (e.kind === 'delta') return { rank: 1, a: new Float32Array([1]), b: e.delta };
  if (!composerShape(w).flip) return { rank: e.rank, a: e.A, b: e.B };
  // (B A)^T = A^T B^T: the new B is A^T [in, r], the new A is B^T [r, out].
  return { rank: e.rank, a: transpose(e.B, e.rows, e.rank), b: transpose(e.A, e.rank, e.cols) };
}
