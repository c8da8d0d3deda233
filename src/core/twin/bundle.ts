// A bundle's files → what the pipeline built: the shared weights as stored, each expert's module,
// D (shared - base) and the router with its replay set. The one reader: the app's session and
// `twinmerge eval` both use it (the bytes come from fetch, a service-worker cache or the disk).
import type { Manifest } from '../bundle/manifest.ts';
import { routerFromTensors, type RouterModel } from '../router/index.ts';
import { decodeSafetensors, toFloat32, type Tensor } from '../safetensors/index.ts';
import type { F32Tensor } from '../tensor/tensor.ts';
import { moduleFromTensors, type ExclusiveModule } from './module.ts';
import type { StoredShared, TwinWeight } from './shared.ts';

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

export interface BundleRouter {
  model: RouterModel;
  /** Expert ids in class order. */
  labels: string[];
  /** Training features per class, so a class can be added in the app without the bundle's prompts. */
  replay: { features: Float32Array[]; labels: number[] };
}

export interface BundleExpert {
  readonly entry: Manifest['experts'][number];
  readonly module: ExclusiveModule;
  /** How the low-rank factors are stored. */
  readonly factorDtype: 'f16' | 'f32';
}

export interface TwinBundle {
  readonly manifest: Manifest;
  readonly shared: Map<string, StoredShared>;
  /** In manifest order. */
  readonly experts: BundleExpert[];
  /** D = shared - base (empty when the bundle has none). */
  readonly baseDelta: ExclusiveModule;
  readonly router: BundleRouter;
}

/** Bytes of one bundle file (path as the manifest lists it); throws when it is not there. */
export type BundleFileGetter = (path: string) => Uint8Array;

function decode(file: string, bytes: Uint8Array): { metadata: Record<string, string>; tensors: Map<string, Tensor> } {
  try {
    return decodeSafetensors(bytes, { name: file });
  } catch (e) {
    throw new BundleFormatError(file, (e as { tensor?: string }).tensor, e instanceof Error ? e.message : String(e));
  }
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

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** shared.safetensors → each weight as stored (f32/BF16 read as f32, f16 kept as bits, int8 with its scales). */
export function readShared(file: string, bytes: Uint8Array, weights: readonly TwinWeight[]): Map<string, StoredShared> {
  const { tensors } = decode(file, bytes);
  const out = new Map<string, StoredShared>();
  for (const w of weights) {
    const t = tensors.get(w.name);
    if (!t) throw new BundleFormatError(file, w.name, 'missing');
    if (!sameShape(t.shape, w.shape)) throw new BundleFormatError(file, w.name, `shape [${t.shape}] but the model needs [${w.shape}]`);
    if (t.dtype === 'I8') {
      const scale = tensors.get(`${w.name}.scale`);
      if (!scale || scale.dtype !== 'F32' || scale.shape.length !== 1 || scale.shape[0] !== w.shape[0]) throw new BundleFormatError(file, `${w.name}.scale`, 'int8 weight without its per-row F32 scale');
      out.set(w.name, { dtype: 'int8', data: t.data as Int8Array, scale: scale.data as Float32Array });
    } else if (t.dtype === 'F16') out.set(w.name, { dtype: 'f16', data: t.data as Uint16Array });
    else if (t.dtype === 'F32' || t.dtype === 'BF16') out.set(w.name, { dtype: 'f32', data: toFloat32(t) });
    else throw new BundleFormatError(file, w.name, `dtype ${t.dtype} is not usable for a weight`);
  }
  return out;
}

/** An exclusive-module file (experts/<id>.safetensors or base_delta.safetensors), checked against the model's shapes. */
export function readModule(file: string, bytes: Uint8Array, weights: readonly TwinWeight[]): ExclusiveModule {
  return decodeModule(file, bytes, weights).module;
}

function decodeModule(file: string, bytes: Uint8Array, weights: readonly TwinWeight[]): { module: ExclusiveModule; factorDtype: 'f16' | 'f32' } {
  const { tensors } = decode(file, bytes);
  const factorDtype = [...tensors].some(([n, t]) => !n.endsWith('.delta') && t.dtype === 'F16') ? 'f16' : 'f32';
  try {
    return { module: moduleFromTensors(f32Tensors(file, tensors), new Map(weights.map((w) => [w.name, w.shape]))), factorDtype };
  } catch (e) {
    throw new BundleFormatError(file, (e as { tensor?: string }).tensor, e instanceof Error ? e.message : String(e));
  }
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

/** Everything the pipeline wrote, from the bundle's files. `weights` are the architecture's mergeable weights. */
export function readBundle(manifest: Manifest, file: BundleFileGetter, weights: readonly TwinWeight[], opts: { skipBaseDelta?: boolean } = {}): TwinBundle {
  const shared = readShared(manifest.shared.file, file(manifest.shared.file), weights);
  const experts = manifest.experts.map((entry) => ({ entry, ...decodeModule(entry.file, file(entry.file), weights) }));
  const bd = manifest.shared.baseDelta;
  // The app leaves D out of its first load (only a dropped adapter needs it) and reads it on demand.
  const baseDelta = bd && !opts.skipBaseDelta ? readModule(bd.file, file(bd.file), weights) : new Map();
  const router = readRouter(manifest.router.file, file(manifest.router.file), manifest);
  for (const id of router.labels) if (!manifest.experts.some((e) => e.id === id)) throw new BundleFormatError('manifest.json', undefined, `router label "${id}" has no expert entry`);
  return { manifest, shared, experts, baseDelta, router };
}

/** EOS ids: config.json's, generation_config.json's and any the tokenizer adds (e.g. <|im_end|>), once each. */
export function mergeEosIds(configIds: readonly number[], generationConfig: unknown, extra: readonly (number | undefined)[] = []): number[] {
  const g = generationConfig && typeof generationConfig === 'object' ? (generationConfig as { eos_token_id?: unknown }).eos_token_id : undefined;
  const fromGen = [g ?? []].flat().filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
  return [...new Set([...configIds, ...fromGen, ...extra.filter((x): x is number => x !== undefined)])];
}
