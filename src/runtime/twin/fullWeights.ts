// An expert's own fine-tuned weights (experts/<id>.full.safetensors, the compare view) → graph-layout
// float32 per weight, as the composer outputs them, checked against the model's shapes.
import { decodeSafetensors, toFloat32 } from '../../core/safetensors/index.ts';
import { BundleFormatError } from '../../core/twin/index.ts';
import type { WeightInfo } from '../../model/llama.ts';
import { toGraphLayout } from '../weights.ts';

export function readFullWeights(file: string, bytes: Uint8Array, weights: readonly WeightInfo[]): Map<string, Float32Array> {
  let tensors;
  try {
    tensors = decodeSafetensors(bytes, { name: file }).tensors;
  } catch (e) {
    throw new BundleFormatError(file, (e as { tensor?: string }).tensor, e instanceof Error ? e.message : String(e));
  }
  const out = new Map<string, Float32Array>();
  for (const w of weights) {
    const t = tensors.get(w.name);
    if (!t) throw new BundleFormatError(file, w.name, 'missing');
    const f = toFloat32(t);
    if (f.length !== w.shape.reduce((a, b) => a * b, 1)) throw new BundleFormatError(file, w.name, `shape [${t.shape}] but the model needs [${w.shape}]`);
    out.set(w.name, toGraphLayout(w, f));
  }
  return out;
}
