// Bundle files → what the composer and the router take. No GPU, no DOM: the worker and Node tests
// both use it. Orientation: the composer writes [in, out] for a weight given as [out, in]; weights
// the graph takes untransposed (embed_tokens) are handed over transposed (W^T = S^T + A^T B^T), and
// 1-D weights are [n, 1] with their delta as a rank-1 factor.
import type { Manifest } from '../../core/bundle/manifest.ts';
import { moduleFromTensors, type ExclusiveEntry } from '../../core/merge/exclusive.ts';
import { routerFromTensors, type RouterModel } from '../../core/router/index.ts';
import { decodeSafetensors, toFloat32, type Tensor } from '../../core/safetensors/index.ts';
import { transpose, type F32Tensor } from '../../core/tensor/tensor.ts';
import type { ModelSpec } from '../../model/config.ts';
import type { WeightInfo } from '../../model/llama.ts';
import { vectorDeltaAsFactor, type ComposerWeight, type ExpertModule, type LowRankFactor } from '../composer/types.ts';

export class BundleFormatError extends Error {
  constructor(
    readonly file: string,
    readonly tensor: string | undefined,
    message: string,
  ) {
    super(`${file}${tensor ? `, tensor ${tensor}` : ''}: ${message}`);
    this.name = 'BundleFormatError';
  }
}

function decode(file: string, bytes: Uint8Array): { metadata: Record<string, string>; tensors: Map<string, Tensor> } {
  try {
    return decodeSafetensors(bytes, { name: file });
  } catch (e) {
    throw new BundleFormatError(file, (e as { tensor?: string }).tensor, e instanceof Error ? e.message : String(e));
  }
}

/** The composer's view of a checkpoint weight: [out, in], or [in, out] for untransposed 2-D graph inputs, or [n, 1]. */
export function composerShape(w: WeightInfo): { outDim: number; inDim: number; flip: boolean } {
  if (w.shape.length === 1) return { outDim: w.shape[0]!, inDim: 1, flip: false };
  const [rows, cols] = w.shape as [number, number];
  return w.transposed ? { outDim: rows, inDim: cols, flip: false } : { outDim: cols, inDim: rows, flip: true };
}

/** shared.safetensors → one ComposerWeight per graph weight input. */
export function sharedWeights(file: string, bytes: Uint8Array, weights: readonly WeightInfo[]): ComposerWeight[] {
  const { tensors } = decode(file, bytes);
  return weights.map((w) => {
    const t = tensors.get(w.name);
    if (!t) throw new BundleFormatError(file, w.name, 'missing');
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (t.shape.length !== w.shape.length || t.shape.some((d, i) => d !== w.shape[i])) throw new BundleFormatError(file, w.name, `shape [${t.shape}] but the model needs [${w.shape}]`);
    const { outDim, inDim, flip } = composerShape(w);
    if (t.dtype === 'I8') {
      const scale = tensors.get(`${w.name}.scale`);
      if (!scale || scale.dtype !== 'F32' || scale.shape[0] !== w.shape[0]) throw new BundleFormatError(file, `${w.name}.scale`, 'int8 weight without its per-row F32 scale');
      const q = t.data as Int8Array;
      if (!flip && w.shape.length === 2) return { name: w.name, outDim, inDim, shared: { dtype: 'int8', data: q, scale: scale.data as Float32Array } };
      // Per-row scales do not survive a transpose: dequantize these few on the CPU.
      const s = scale.data as Float32Array;
      const cols = w.shape.length === 2 ? w.shape[1]! : n;
      const f = Float32Array.from(q, (v, i) => v * s[Math.floor(i / cols)]!);
      return { name: w.name, outDim, inDim, shared: { dtype: 'f32', data: flip ? transpose(f, w.shape[0]!, w.shape[1]!) : f } };
    }
    if (t.dtype === 'F16' && !flip) return { name: w.name, outDim, inDim, shared: { dtype: 'f16', data: t.data as Uint16Array } };
    if (t.dtype !== 'F16' && t.dtype !== 'F32' && t.dtype !== 'BF16') throw new BundleFormatError(file, w.name, `dtype ${t.dtype} is not usable for a weight`);
    const f = toFloat32(t);
    return { name: w.name, outDim, inDim, shared: { dtype: 'f32', data: flip ? transpose(f, w.shape[0]!, w.shape[1]!) : f } };
  });
}

function f32Tensors(file: string, tensors: Map<string, Tensor>, skip: (name: string) => boolean = () => false): Map<string, F32Tensor> {
  const out = new Map<string, F32Tensor>();
  for (const [name, t] of tensors) {
    if (skip(name)) continue;
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') throw new BundleFormatError(file, name, `dtype ${t.dtype}; expected F32, F16 or BF16`);
    out.set(name, { shape: t.shape, data: toFloat32(t) });
  }
  return out;
}

/** An entry in the composer's orientation. */
export function entryToFactor(e: ExclusiveEntry, w: WeightInfo): LowRankFactor {
  if (e.kind === 'delta') return vectorDeltaAsFactor(e.delta);
  if (!composerShape(w).flip) return { rank: e.rank, a: e.A, b: e.B };
  // (B A)^T = A^T B^T: the new B is A^T [in, r], the new A is B^T [r, out].
  return { rank: e.rank, a: transpose(e.B, e.rows, e.rank), b: transpose(e.A, e.rank, e.cols) };
}

/** Checkpoint-named exclusive entries, validated against the model's shapes. */
export function parseModule(file: string, tensors: Map<string, F32Tensor>, weights: readonly WeightInfo[]): Map<string, ExclusiveEntry> {
  try {
    return moduleFromTensors(tensors, new Map(weights.map((w) => [w.name, w.shape])));
  } catch (e) {
    throw new BundleFormatError(file, (e as { tensor?: string }).tensor, e instanceof Error ? e.message : String(e));
  }
}

export function toExpertModule(id: string, entries: Map<string, ExclusiveEntry>, weights: readonly WeightInfo[]): ExpertModule {
  const byName = new Map(weights.map((w) => [w.name, w]));
  const factors = new Map<string, LowRankFactor>();
  for (const [name, e] of entries) {
    if (e.kind === 'lowrank' && e.rank === 0) continue;
    factors.set(name, entryToFactor(e, byName.get(name)!));
  }
  return { id, factors };
}

/** An exclusive-module file (experts/<id>.safetensors or base_delta.safetensors). */
export function readModuleFile(file: string, bytes: Uint8Array, weights: readonly WeightInfo[]): { entries: Map<string, ExclusiveEntry>; metadata: Record<string, string> } {
  const { tensors, metadata } = decode(file, bytes);
  return { entries: parseModule(file, f32Tensors(file, tensors), weights), metadata };
}

export interface BundleRouter {
  model: RouterModel;
  labels: string[];
  replay: { features: Float32Array[]; labels: number[] };
}

export function readRouter(file: string, bytes: Uint8Array, manifest: Manifest): BundleRouter {
  const { tensors, metadata } = decode(file, bytes);
  let model: RouterModel;
  try {
    model = routerFromTensors(f32Tensors(file, tensors, (n) => n.startsWith('replay.')), metadata);
  } catch (e) {
    throw new BundleFormatError(file, undefined, e instanceof Error ? e.message : String(e));
  }
  if (model.numClasses !== manifest.router.labels.length) throw new BundleFormatError(file, undefined, `router has ${model.numClasses} classes, the manifest lists ${manifest.router.labels.length} experts`);
  if (model.inputSize !== manifest.router.feature.size) throw new BundleFormatError(file, undefined, `router takes ${model.inputSize} features, the manifest says ${manifest.router.feature.size}`);
  const rf = tensors.get('replay.features');
  const rl = tensors.get('replay.labels');
  const replay = { features: [] as Float32Array[], labels: [] as number[] };
  if (rf && rl) {
    const H = model.inputSize;
    const f = toFloat32(rf);
    const n = rf.shape[0] ?? 0;
    if (rf.shape[1] !== H || rl.shape[0] !== n) throw new BundleFormatError(file, 'replay.features', 'replay features and labels do not match');
    for (let i = 0; i < n; i++) {
      replay.features.push(f.slice(i * H, (i + 1) * H));
      replay.labels.push(Number((rl.data as Int32Array)[i]));
    }
  }
  return { model, labels: [...manifest.router.labels], replay };
}

/** Full fine-tuned weights (compare view): graph-layout Float32Array per weight, as the composer outputs them. */
export function readFullWeights(file: string, bytes: Uint8Array, weights: readonly WeightInfo[]): Map<string, Float32Array> {
  const { tensors } = decode(file, bytes);
  const out = new Map<string, Float32Array>();
  for (const w of weights) {
    const t = tensors.get(w.name);
    if (!t) throw new BundleFormatError(file, w.name, 'missing');
    const f = toFloat32(t);
    if (f.length !== w.shape.reduce((a, b) => a * b, 1)) throw new BundleFormatError(file, w.name, `shape [${t.shape}] but the model needs [${w.shape}]`);
    out.set(w.name, w.transposed ? transpose(f, w.shape[0]!, w.shape[1]!) : f);
  }
  return out;
}
