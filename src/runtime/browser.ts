/**
 * Browser sessions: onnxruntime-web's native WebGPU EP on a device the app creates (and shares
 * with its own WGSL composer), or the WASM EP as a fallback. No Node APIs here.
 *
 * Import `onnxruntime-web/webgpu` (native WebGPU EP), not the default build: the default (JSEP)
 * ignores an app-supplied device and silently computes garbage with buffers from another device.
 * The WASM fallback runs on the same build (it carries the wasm EP): one ORT module and one wasm
 * binary (ORT_WASM_FILE) for both backends, so the demo's build ships exactly one (issue 14). Where
 * the plain build of `onnxruntime-web/wasm` is served too (the dev server; a build whose bundle is
 * above 10 M parameters: vite.config.ts), a page without WebGPU runs on it instead: it decodes a
 * SmolLM2-135M-shaped model about twice as fast (docs/limitations.md).
 */
import type { ModelSpec } from '../model/config.ts';
import { stepGraphFor, type DecoderGraph } from '../model/onnx/decoder.ts';
import { DecoderEngine, type EngineOptions } from './engine.ts';
import type { OrtModule } from './ort.ts';

export interface WebGpuContext {
  adapter: GPUAdapter;
  device: GPUDevice;
  /** 'shader-f16' availability (SwiftShader has none: the f32 path is the baseline). */
  f16: boolean;
}

/**
 * Request an adapter and a device with the adapter's largest buffer limits. Never `subgroups`:
 * with it, ORT 1.30's WebGPU FlashAttention prefill takes a subgroup path that is wrong for 32+
 * new tokens when the subgroup size is 4 (SwiftShader); without it prefill is exact in one run.
 */
export async function createWebGpuDevice(gpu: GPU = navigator.gpu): Promise<WebGpuContext> {
  if (!gpu) throw new Error('WebGPU is not available (navigator.gpu is undefined)');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('WebGPU: no adapter');
  const f16 = adapter.features.has('shader-f16');
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
    },
    requiredFeatures: f16 ? ['shader-f16'] : [],
  });
  return { adapter, device, f16 };
}

export type BrowserBackend = { kind: 'webgpu'; device: GPUDevice } | { kind: 'wasm'; threads?: number };

/** Which onnxruntime-web build a page runs: 'webgpu' (its WebGPU and WASM EPs), or the plain 'wasm' one. */
export type OrtBuild = 'webgpu' | 'wasm';

export interface BrowserSessionOptions {
  /** Where the app serves ORT_WASM_FILES (never a CDN): a folder URL such as '/ort/'. */
  wasmPaths?: string;
  engine?: EngineOptions;
  /** The ORT build (default 'webgpu'): one per page, so its WASM EP sessions share the module. */
  build?: OrtBuild;
  /**
   * WebGPU: decode steps on a second session of the single-token step graph (stepGraphFor). Meant
   * for software adapters (SwiftShader), where it decodes 2-3x faster; not measured on hardware GPUs.
   */
  singleTokenStep?: boolean;
}

/**
 * The wasm binary each build loads (its JS glue is inside the module's bundle): the asyncify one of
 * `onnxruntime-web/webgpu`, for its WebGPU EP and its WASM EP alike, and the plain one of
 * `onnxruntime-web/wasm`. vite.config.ts ships the first always and the second where
 * PLAIN_WASM_SERVED; e2e/build.spec.ts checks what a production load fetches.
 */
export const ORT_WASM_FILES: Record<OrtBuild, string> = { webgpu: 'ort-wasm-simd-threaded.asyncify.wasm', wasm: 'ort-wasm-simd-threaded.wasm' };
export const ORT_WASM_FILE = ORT_WASM_FILES.webgpu;

/** Whether the site serves the plain build's wasm (vite.config.ts defines it; false outside Vite). */
export const PLAIN_WASM_SERVED: boolean = import.meta.env?.TWINMERGE_PLAIN_WASM === true;

/** The build a page runs: the plain one only without a WebGPU device, and only where it is served. */
export function ortBuildFor(hasDevice: boolean): OrtBuild {
  return !hasDevice && PLAIN_WASM_SERVED ? 'wasm' : 'webgpu';
}

/** Most new tokens per run that ORT 1.30's subgroup FlashAttention prefill computes right. */
export const SUBGROUP_SAFE_TOKENS_PER_RUN = 31;

/** ORT's warnings (e.g. VerifyEachNodeIsAssignedToAnEp on WebGPU) land as console errors: log errors only. */
const ORT_LOG_SEVERITY_ERROR = 3;

/** Load the ORT module of `opts.build` (default the WebGPU one, whose WASM EP is the fallback). */
export async function loadBrowserOrt(backend: BrowserBackend, opts: BrowserSessionOptions = {}): Promise<OrtModule> {
  // The plain build's import sits behind the compile-time PLAIN_WASM_SERVED, so a build that does not
  // serve it does not bundle its module either.
  const build: OrtBuild = opts.build === 'wasm' && PLAIN_WASM_SERVED ? 'wasm' : 'webgpu';
  const mod = (build === 'wasm' && import.meta.env?.TWINMERGE_PLAIN_WASM === true ? await import('onnxruntime-web/wasm') : await import('onnxruntime-web/webgpu')) as unknown as OrtModule & { default?: OrtModule };
  const ort = mod.default ?? mod;
  ort.env.logLevel = 'error';
  // Only the .wasm is fetched: with a bare folder prefix ORT would also import its JS glue from
  // there, a second copy of what its bundle already holds.
  if (opts.wasmPaths) ort.env.wasm.wasmPaths = { wasm: new URL(ORT_WASM_FILES[build], new URL(opts.wasmPaths, self.location.href)).href };
  if (backend.kind === 'wasm') ort.env.wasm.numThreads = backend.threads ?? 1;
  return ort;
}

/**
 * An engine on the WebGPU EP (KV cache kept on the GPU; feed weights with uploadGpuWeights on the
 * same device) or on WASM (CPU feeds).
 */
export async function createBrowserEngine(
  spec: ModelSpec,
  graph: DecoderGraph,
  backend: BrowserBackend,
  opts: BrowserSessionOptions = {},
): Promise<{ ort: OrtModule; engine: DecoderEngine }> {
  const ort = await loadBrowserOrt(backend, opts);
  const engine =
    backend.kind === 'webgpu'
      ? await DecoderEngine.create(
          ort,
          graph.bytes,
          spec,
          graph.io,
          { executionProviders: [{ name: 'webgpu', device: backend.device }], logSeverityLevel: ORT_LOG_SEVERITY_ERROR },
          // A device made elsewhere with `subgroups` gets the 31-token runs that stay exact (docs/engine.md).
          {
            gpuCache: true,
            ...(backend.device.features.has('subgroups') ? { maxTokensPerRun: SUBGROUP_SAFE_TOKENS_PER_RUN } : {}),
            ...(opts.singleTokenStep ? { stepModel: stepGraphFor(spec, graph.io).bytes } : {}),
            ...opts.engine,
          },
        )
      : await DecoderEngine.create(ort, graph.bytes, spec, graph.io, { executionProviders: ['wasm'], logSeverityLevel: ORT_LOG_SEVERITY_ERROR }, opts.engine ?? {});
  return { ort, engine };
}
