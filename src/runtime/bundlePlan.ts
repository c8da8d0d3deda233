// What a bundle will cost, from its manifest alone, before any file is downloaded: the model it
// describes (an architecture we run, sizes within sane limits), the bytes a load fetches, and the
// memory a session holds. A hostile or broken manifest (absurd shapes or counts, files too large
// for one array, a shared-weights file whose size cannot hold the model it claims) is refused here,
// so the loader never allocates or downloads for it (issue 12, "Bad input and safety").
import type { Manifest } from '../core/bundle/manifest.ts';
import { parseModelConfig, type ModelSpec } from '../model/config.ts';
import { expectedTensors, type WeightInfo } from '../model/llama.ts';

/** Limits no model this app can run comes near; past them a manifest is refused as absurd. */
export const PLAN_LIMITS = {
  hiddenSize: 16384,
  intermediateSize: 131072,
  numLayers: 256,
  vocabSize: 1 << 22,
  parameters: 20e9,
  files: 4096,
  /** One file is read into one array. */
  fileBytes: 4 * 2 ** 30,
  totalBytes: 64 * 2 ** 30,
} as const;

export class BundlePlanError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
    this.name = 'BundlePlanError';
  }
}

export interface BundlePlan {
  readonly spec: ModelSpec;
  /** Mergeable weights' elements (tied heads counted once). */
  readonly parameters: number;
  /** Every file of the bundle, and the ones a load fetches (`needed`). */
  readonly totalBytes: number;
  readonly loadBytes: number;
  /** The largest weight as composed (float32): one GPU buffer must hold it. */
  readonly largestWeight: { readonly name: string; readonly bytes: number };
  /**
   * A session's memory on WebGPU with float32 composed weights: shared weights as stored, expert
   * factors (float32), composed weights, the routing pass's own float32 copy of the layers it reads
   * (WebAssembly memory; kept when at most ROUTER_COPY_MAX_BYTES, else 0), KV cache per token.
   * `memoryOn` gives it for a device.
   */
  readonly memory: { readonly shared: number; readonly experts: number; readonly composed: number; readonly routerCopy: number; readonly kvPerToken: number };
}

/** The routing pass keeps its own float32 copy of the shared weights it reads when they are at most this. */
export const ROUTER_COPY_MAX_BYTES = 256 * 1024 * 1024;

/** Whether a routing pass reading `parameters` parameters gets its own copy. */
export function keepsRouterCopy(parameters: number): boolean {
  return parameters * 4 <= ROUTER_COPY_MAX_BYTES;
}

/** The weights the routing pass reads: embedding, the first `layer` layers, the final norm (no head). */
export function routerWeights(spec: ModelSpec, layer: number): WeightInfo[] {
  return expectedTensors({ ...spec, numLayers: layer }).filter((w) => w.name !== 'lm_head.weight');
}

/** Float32 bytes of the routing pass's own weights when it keeps them (src/runtime/twin/routerPass.ts), else 0: the plan and the session both ask. */
export function routerOwnBytes(spec: ModelSpec, layer: number): number {
  const n = routerWeights(spec, layer).reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  return keepsRouterCopy(n) ? n * 4 : 0;
}

const SHARED_BYTES_PER_ELEMENT = { f32: 4, f16: 2, int8: 1 } as const;
const SLACK = 64 * 2 ** 20; // headers, 1-D weights kept in f32, int8 row scales

export function planBundle(m: Manifest, needed: (f: Manifest['files'][number]) => boolean = () => true): BundlePlan {
  const problems: string[] = [];
  const a = m.architecture;
  const over = (what: string, v: number, max: number) => v > max && problems.push(`${what} ${v} is beyond anything this app runs (at most ${max})`);
  over('hidden_size', a.hidden_size, PLAN_LIMITS.hiddenSize);
  over('intermediate_size', a.intermediate_size, PLAN_LIMITS.intermediateSize);
  over('num_hidden_layers', a.num_hidden_layers, PLAN_LIMITS.numLayers);
  over('vocab_size', a.vocab_size, PLAN_LIMITS.vocabSize);
  over('the number of files', m.files.length, PLAN_LIMITS.files);
  for (const f of m.files) if (f.bytes > PLAN_LIMITS.fileBytes) problems.push(`${f.path} is said to be ${f.bytes} bytes: more than one file can be (${PLAN_LIMITS.fileBytes})`);
  const totalBytes = m.files.reduce((s, f) => s + f.bytes, 0);
  over('the bundle\'s total bytes', totalBytes, PLAN_LIMITS.totalBytes);
  if (problems.length) throw new BundlePlanError(problems);

  let spec: ModelSpec;
  try {
    spec = parseModelConfig(a);
  } catch (e) {
    throw new BundlePlanError([`the architecture is not one this app runs: ${e instanceof Error ? e.message : String(e)}`]);
  }
  const weights = expectedTensors(spec); // a tied head is not listed
  const numel = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
  const parameters = weights.reduce((s, w) => s + numel(w.shape), 0);
  over('the parameter count', parameters, PLAN_LIMITS.parameters);

  const bytesOf = (path: string) => m.files.find((f) => f.path === path)?.bytes ?? 0;
  const shared = bytesOf(m.shared.file);
  const least = parameters * SHARED_BYTES_PER_ELEMENT[m.shared.dtype];
  if (shared < least || shared > parameters * 4 + SLACK)
    problems.push(`${m.shared.file} is said to be ${shared} bytes, but ${parameters} ${m.shared.dtype} parameters need ${least} to ${parameters * 4 + SLACK}`);
  if (problems.length) throw new BundlePlanError(problems);

  return {
    spec,
    parameters,
    totalBytes,
    loadBytes: m.files.filter(needed).reduce((s, f) => s + f.bytes, 0),
    largestWeight: weights.map((w) => ({ name: w.name, bytes: numel(w.shape) * 4 })).reduce((a, b) => (b.bytes > a.bytes ? b : a)),
    memory: {
      shared,
      // Factors are float32 in memory (GPU buffers, or the CPU composer's arrays): f16 files double.
      experts: m.experts.reduce((s, e) => s + bytesOf(e.file), 0) * (m.exclusive?.dtype === 'f16' ? 2 : 1),
      composed: parameters * 4,
      routerCopy: routerOwnBytes(spec, m.router.feature.layer ?? spec.numLayers),
      kvPerToken: spec.numLayers * 2 * spec.numKvHeads * spec.headDim * 4,
    },
  };
}

/** What the device offers: a WebGPU adapter's buffer limits and the composed weights' element size, or WebAssembly. */
export type DeviceLimits = { readonly kind: 'webgpu'; readonly maxBufferSize: number; readonly maxStorageBufferBindingSize: number; readonly composedBytesPerElement: 2 | 4 } | { readonly kind: 'wasm' };

/**
 * The plan's memory on a device: composed weights at the GPU's element size (f16 where the adapter
 * has shader-f16); on WASM the CPU composer keeps the shared weights dequantized to float32 (a
 * compose is then one add per element).
 */
export function memoryOn(plan: BundlePlan, device: DeviceLimits): BundlePlan['memory'] {
  const m = plan.memory;
  const composed = plan.parameters * (device.kind === 'webgpu' ? device.composedBytesPerElement : 4);
  const shared = device.kind === 'webgpu' ? m.shared : plan.parameters * 4;
  return { ...m, shared, composed };
}

/** wasm32 addresses 4 GiB; the chat session keeps the composed weights resident there (engine.ts residentWeights), beside its own buffers. */
export const WASM_COMPOSED_MAX_BYTES = 3 * 2 ** 30;

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Why this bundle cannot run on this device, in words with the numbers, or null when it fits. */
export function deviceFitProblem(plan: BundlePlan, device: DeviceLimits): string | null {
  if (device.kind === 'webgpu') {
    const bytes = (plan.largestWeight.bytes / 4) * device.composedBytesPerElement;
    const limit = Math.min(device.maxBufferSize, device.maxStorageBufferBindingSize);
    return bytes > limit
      ? `This model does not fit this GPU: its largest weight (${plan.largestWeight.name}, ${mib(bytes)} composed) is larger than the biggest buffer the GPU adapter allows (${mib(limit)}). Try the WASM backend (?backend=wasm) or a smaller model.`
      : null;
  }
  const bytes = plan.memory.composed;
  return bytes > WASM_COMPOSED_MAX_BYTES
    ? `This model does not fit WebAssembly's memory: its composed weights need ${mib(bytes)}, more than the ${mib(WASM_COMPOSED_MAX_BYTES)} a page can use there. A GPU with WebGPU, or a smaller model, is needed.`
    : null;
}
