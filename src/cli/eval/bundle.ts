// The shipped bundle, read from its files exactly as the app gets them: manifest (checked), every
// file's size and sha256, the shared weights dequantized from their stored dtype, the exclusive
// modules from experts/<id>.safetensors, the router from router.safetensors (without the replay set).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseManifest, type Manifest } from '../../core/bundle/manifest.ts';
import { moduleFromTensors, type ExclusiveModule } from '../../core/merge/index.ts';
import { dequantizeInt8Rows } from '../../core/quant/index.ts';
import { routerFromTensors, type RouterModel } from '../../core/router/index.ts';
import { toFloat32 } from '../../core/safetensors/index.ts';
import type { F32Tensor } from '../../core/tensor/tensor.ts';
import { parseModelConfig, type ModelSpec } from '../../model/config.ts';
import type { WeightInfo } from '../../model/llama.ts';
import { openSafetensorsFile } from '../../node/fileSource.ts';
import type { Weights } from './variants.ts';

export interface LoadedBundle {
  dir: string;
  manifest: Manifest;
  spec: ModelSpec;
  graphBytes: Uint8Array;
  shared: Weights;
  /** In the router's class order (manifest.router.labels). */
  modules: ExclusiveModule[];
  labels: string[];
  router: RouterModel;
  temperature: number;
  sharedFileBytes: number;
  /** Bytes of each expert's exclusive file, in label order. */
  expertBytes: number[];
  exclusiveDtype: 'f16' | 'f32';
}

export class BundleError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'BundleError';
  }
}

async function readAll(path: string): Promise<{ tensors: Map<string, { dtype: string; shape: readonly number[]; data: ArrayBufferView }>; metadata: Record<string, string> }> {
  const f = await openSafetensorsFile(path);
  try {
    const tensors = new Map<string, { dtype: string; shape: readonly number[]; data: ArrayBufferView }>();
    for (const name of f.tensors.keys()) {
      const t = await f.read(name);
      tensors.set(name, { dtype: t.dtype, shape: t.shape, data: t.dtype === 'I8' || t.dtype === 'I32' ? (t.data as ArrayBufferView) : toFloat32(t, path) });
    }
    return { tensors, metadata: { ...f.metadata } };
  } finally {
    await f.close();
  }
}

/** Loads and checks a bundle folder; `weights` are the architecture's tensors (from the zoo's base). */
export async function loadBundleDir(dir: string, weights: readonly WeightInfo[]): Promise<LoadedBundle> {
  const manifestPath = join(dir, 'manifest.json');
  const manifest = parseManifest(await readFile(manifestPath, 'utf8').catch(() => { throw new BundleError(manifestPath, 'cannot be read'); }), manifestPath);
  for (const f of manifest.files) {
    const p = join(dir, f.path);
    const bytes = await readFile(p).catch(() => { throw new BundleError(p, 'listed in the manifest but missing'); });
    if (bytes.length !== f.bytes) throw new BundleError(p, `${bytes.length} bytes, the manifest says ${f.bytes}`);
    if (createHash('sha256').update(bytes).digest('hex') !== f.sha256) throw new BundleError(p, 'sha256 does not match the manifest');
  }
  const spec = parseModelConfig(manifest.architecture);
  const graphBytes = new Uint8Array(await readFile(join(dir, manifest.graph)));

  const sharedPath = join(dir, manifest.shared.file);
  const sh = await readAll(sharedPath);
  const shared: Weights = new Map();
  for (const w of weights) {
    const t = sh.tensors.get(w.name);
    if (!t) throw new BundleError(sharedPath, `missing tensor ${w.name}`);
    if (t.dtype === 'I8') {
      const s = sh.tensors.get(`${w.name}.scale`);
      if (!s) throw new BundleError(sharedPath, `int8 tensor ${w.name} has no ${w.name}.scale`);
      shared.set(w.name, dequantizeInt8Rows({ q: t.data as Int8Array, scale: s.data as Float32Array, rows: w.shape[0]!, cols: w.shape.length === 2 ? w.shape[1]! : 1 }));
    } else shared.set(w.name, t.data as Float32Array);
    if (shared.get(w.name)!.length !== w.shape.reduce((a, b) => a * b, 1)) throw new BundleError(sharedPath, `${w.name} has the wrong size`);
  }

  const labels = [...manifest.router.labels];
  const expected = new Map(weights.map((w) => [w.name, w.shape] as const));
  const modules: ExclusiveModule[] = [];
  const expertBytes: number[] = [];
  let exclusiveDtype: 'f16' | 'f32' = 'f32';
  for (const id of labels) {
    const e = manifest.experts.find((x) => x.id === id);
    if (!e) throw new BundleError(manifestPath, `router label "${id}" has no expert entry`);
    const path = join(dir, e.file);
    const ex = await readAll(path);
    const ts = new Map<string, F32Tensor>();
    for (const [k, t] of ex.tensors) {
      if (t.dtype === 'F16') exclusiveDtype = 'f16';
      ts.set(k, { shape: t.shape, data: t.data as Float32Array });
    }
    try {
      modules.push(moduleFromTensors(ts, expected));
    } catch (err) {
      throw new BundleError(path, err instanceof Error ? err.message : String(err));
    }
    expertBytes.push(manifest.files.find((f) => f.path === e.file)?.bytes ?? 0);
  }

  const routerPath = join(dir, manifest.router.file);
  const rt = await readAll(routerPath);
  const routerTensors = new Map<string, F32Tensor>();
  for (const [k, t] of rt.tensors) if (!k.startsWith('replay.')) routerTensors.set(k, { shape: t.shape, data: t.data as Float32Array });
  const router = routerFromTensors(routerTensors, rt.metadata);
  if (router.numClasses !== labels.length) throw new BundleError(routerPath, `${router.numClasses} classes, the manifest has ${labels.length} labels`);

  return {
    dir,
    manifest,
    spec,
    graphBytes,
    shared,
    modules,
    labels,
    router,
    temperature: manifest.router.temperature,
    sharedFileBytes: manifest.files.find((f) => f.path === manifest.shared.file)?.bytes ?? 0,
    expertBytes,
    exclusiveDtype,
  };
}
