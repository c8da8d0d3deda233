/**
 * Browser sessions: onnxruntime-web's native WebGPU EP on a device the app creates (and shares
 * with its own WGSL composer), or the WASM EP as a fallback. No Node APIs here.
 *
 * Import `onnxruntime-web/webgpu` (native WebGPU EP), not the default build: the default (JSEP)
 * ignores an app-supplied device and silently computes garbage with buffers from another device.
 */
import type { ModelSpec } from '../model/config.ts';
import type { DecoderGraph } from '../model/onnx/decoder.ts';
import { DecoderEngine, type EngineOptions } from './engine.ts';
import type { OrtModule } from './ort.ts';

export interface WebGpuContext {
  adapter: GPUAdapter;
  device: GPUDevice;
  /** 'shader-f16' availability (SwiftShader has none: the f32 path is the baseline). */
  f16: boolean;
}

/** Request an adapter and a device with the adapter's largest buffer limits. */
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

export interface BrowserSessionOptions {
  /** Where the app serves ort-wasm-*.{mjs,wasm} (never a CDN). */
  wasmPaths?: string;
  engine?: EngineOptions;
}

/** Load the ORT module for a backend (webgpu build also carries the wasm EP). */
export async function loadBrowserOrt(backend: BrowserBackend, opts: BrowserSessionOptions = {}): Promise<OrtModule> {
  const mod = (backend.kind === 'webgpu'
    ? await import('onnxruntime-web/webgpu')
    : await import('onnxruntime-web/wasm')) as unknown as OrtModule & { default?: OrtModule };
  const ort = mod.default ?? mod;
  if (opts.wasmPaths) ort.env.wasm.wasmPaths = opts.wasmPaths;
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
          { executionProviders: [{ name: 'webgpu', device: backend.device }] },
          { gpuCache: true, ...opts.engine },
        )
      : await DecoderEngine.create(ort, graph.bytes, spec, graph.io, { executionProviders: ['wasm'] }, opts.engine ?? {});
  return { ort, engine };
}
