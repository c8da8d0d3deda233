// Finds out which compute backend this context can use: a WebGPU adapter, or WASM when there is none.
// Runs wherever the engine runs (the worker), since that is where the GPU device will live.

export interface WebGpuBackend {
  kind: 'webgpu';
  /** Human-readable adapter name, e.g. "SwiftShader Device (Subzero)". */
  adapterName: string;
  vendor: string;
  architecture: string;
  /** The adapter is a CPU emulation (SwiftShader): correct but slow. */
  isSoftware: boolean;
  shaderF16: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface WasmBackend {
  kind: 'wasm';
  /** Why WebGPU is not used: shown to the user as is. */
  reason: string;
  threads: number;
}

export type BackendInfo = WebGpuBackend | WasmBackend;

export type BackendPreference = 'auto' | 'webgpu' | 'wasm';

function wasmThreads(): number {
  // Threads need SharedArrayBuffer, which needs cross-origin isolation.
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  const cores = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency || 1 : 1;
  return isolated ? Math.max(1, Math.min(4, cores)) : 1;
}

/** A CPU emulation of a GPU (SwiftShader, or the browser's fallback adapter). */
export function isSoftwareAdapter(info: GPUAdapterInfo): boolean {
  return /swiftshader/i.test(`${info.vendor} ${info.architecture} ${info.description}`) || (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
}

export async function probeBackend(preference: BackendPreference = 'auto'): Promise<BackendInfo> {
  const wasm = (reason: string): WasmBackend => ({ kind: 'wasm', reason, threads: wasmThreads() });
  if (preference === 'wasm') return wasm('WASM was chosen in the settings.');
  const gpu = typeof navigator !== 'undefined' ? navigator.gpu : undefined;
  if (!gpu) return wasm('This browser does not expose WebGPU (navigator.gpu is missing).');
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return wasm(`WebGPU adapter request failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!adapter) return wasm('WebGPU is present but no adapter is available.');
  const info = adapter.info;
  const vendor = info.vendor || 'unknown vendor';
  const architecture = info.architecture || '';
  const adapterName = info.description || [vendor, architecture].filter(Boolean).join(' ');
  return {
    kind: 'webgpu',
    adapterName,
    vendor,
    architecture,
    isSoftware: isSoftwareAdapter(info),
    shaderF16: adapter.features.has('shader-f16'),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
}

/**
 * Above this many parameters a software adapter (SwiftShader) is far slower than WASM: a
 * SmolLM2-135M-shaped model decodes at 0.67 tok/s there (single-token step graph; 0.09-0.12 without)
 * against 28 on WASM (docs/limitations.md).
 */
export const SOFTWARE_ADAPTER_MAX_PARAMETERS = 10_000_000;

/** The backend for a model of `parameters` parameters: 'auto' leaves a software adapter for WASM when the model is large. */
export function chooseForModel(probed: BackendInfo, preference: BackendPreference, parameters: number): BackendInfo {
  if (preference !== 'auto' || probed.kind !== 'webgpu' || !probed.isSoftware || parameters <= SOFTWARE_ADAPTER_MAX_PARAMETERS) return probed;
  return {
    kind: 'wasm',
    reason: `The GPU adapter (${probed.adapterName}) is a software emulation: for a model of ${(parameters / 1e6).toFixed(0)} M parameters WASM is much faster here. Choose WebGPU in the settings to use it anyway.`,
    threads: wasmThreads(),
  };
}
