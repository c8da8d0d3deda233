// Router <-> a flat record of named Float32Arrays (safetensors-ready) + string metadata.
// Tensors: "mean" [d], "std" [d], "layers.{i}.weight" [out, in], "layers.{i}.bias" [out], i = 0..L-1.
// Metadata (safetensors __metadata__): format "twinmerge-router", version "1", activation, hidden (JSON).
import type { F32Tensor } from '../tensor/tensor.ts';
import { RouterError, validateRouter, type Activation, type RouterModel } from './mlp.ts';

export const ROUTER_FORMAT = 'twinmerge-router';

export function routerToTensors(m: RouterModel): { tensors: Map<string, F32Tensor>; metadata: Record<string, string> } {
  validateRouter(m);
  const tensors = new Map<string, F32Tensor>();
  tensors.set('mean', { shape: [m.inputSize], data: m.mean });
  tensors.set('std', { shape: [m.inputSize], data: m.std });
  const sizes = [m.inputSize, ...m.hidden, m.numClasses];
  m.layers.forEach((l, i) => {
    tensors.set(`layers.${i}.weight`, { shape: [sizes[i + 1]!, sizes[i]!], data: l.W });
    tensors.set(`layers.${i}.bias`, { shape: [sizes[i + 1]!], data: l.b });
  });
  return {
    tensors,
    metadata: { format: ROUTER_FORMAT, version: '1', activation: m.activation, hidden: JSON.stringify(m.hidden), numClasses: String(m.numClasses) },
  };
}

/** Rebuilds a router; shapes must chain. Activation comes from metadata (default "relu"). */
export function routerFromTensors(tensors: ReadonlyMap<string, F32Tensor>, metadata: Readonly<Record<string, string>> = {}): RouterModel {
  const get = (k: string): F32Tensor => {
    const t = tensors.get(k);
    if (!t) throw new RouterError(`router file: missing tensor "${k}"`);
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new RouterError(`router file: "${k}" data does not match its shape`);
    return t;
  };
  if (metadata.format !== undefined && metadata.format !== ROUTER_FORMAT) throw new RouterError(`router file: format "${metadata.format}", expected "${ROUTER_FORMAT}"`);
  const activation = (metadata.activation ?? 'relu') as Activation;
  if (activation !== 'relu' && activation !== 'gelu') throw new RouterError(`router file: unknown activation "${activation}"`);
  const mean = get('mean'), std = get('std');
  let L = 0;
  while (tensors.has(`layers.${L}.weight`)) L++;
  if (L === 0) throw new RouterError('router file: no layers ("layers.0.weight" missing)');
  const layers = [];
  const sizes = [mean.shape[0]!];
  for (let i = 0; i < L; i++) {
    const W = get(`layers.${i}.weight`), b = get(`layers.${i}.bias`);
    if (W.shape.length !== 2 || W.shape[1] !== sizes[i]) throw new RouterError(`router file: layers.${i}.weight is [${W.shape.join(', ')}], expected [*, ${sizes[i]}]`);
    if (b.shape.length !== 1 || b.shape[0] !== W.shape[0]) throw new RouterError(`router file: layers.${i}.bias is [${b.shape.join(', ')}], expected [${W.shape[0]}]`);
    sizes.push(W.shape[0]!);
    layers.push({ W: W.data, b: b.data });
  }
  const expectedKeys = new Set(['mean', 'std', ...Array.from({ length: L }, (_, i) => [`layers.${i}.weight`, `layers.${i}.bias`]).flat()]);
  for (const k of tensors.keys()) if (!expectedKeys.has(k)) throw new RouterError(`router file: unexpected tensor "${k}"`);
  const m: RouterModel = { inputSize: sizes[0]!, hidden: sizes.slice(1, -1), numClasses: sizes[sizes.length - 1]!, activation, mean: mean.data, std: std.data, layers };
  if (metadata.hidden !== undefined && metadata.hidden !== JSON.stringify(m.hidden)) throw new RouterError(`router file: metadata hidden ${metadata.hidden} does not match the tensors' [${m.hidden.join(',')}]`);
  validateRouter(m);
  return m;
}
