// Opens a TwinSession in the browser (the worker): probe WebGPU, create one device for the
// composer's WGSL and onnxruntime-web, fetch the bundle (sizes and sha256 checked), pick the
// composer (GpuComposer on WebGPU, CpuComposer on WASM) and the engine.
import { chooseForModel, probeBackend, type BackendInfo, type BackendPreference } from '../backendProbe.ts';
import { createBrowserEngine, createWebGpuDevice, loadBrowserOrt, ortBuildFor } from '../browser.ts';
import { checkBundle, loadBundle } from '../bundleLoader.ts';
import { deviceFitProblem, memoryOn, type BundlePlan, type DeviceLimits } from '../bundlePlan.ts';
import { CpuComposer } from '../composer/cpuComposer.ts';
import { GpuComposer } from '../composer/gpuComposer.ts';
import { trackBuffers } from '../gpuBufferTracker.ts';
import { createGpuMatrixProducts } from '../gpuMatrixProducts.ts';
import { createOrtMatrixProducts } from '../matrixProducts.ts';
import { neededAtLoad, SessionError, TwinSession, type SessionProgress } from './session.ts';

function limitsOf(probed: BackendInfo): DeviceLimits {
  return probed.kind === 'webgpu' ? { kind: 'webgpu', maxBufferSize: probed.maxBufferSize, maxStorageBufferBindingSize: probed.maxStorageBufferBindingSize, composedBytesPerElement: probed.shaderF16 ? 2 : 4 } : { kind: 'wasm' };
}

/** What opening a bundle here would take, from its manifest alone (nothing else is downloaded). */
export interface BundleCheck {
  url: string;
  backend: BackendInfo;
  createdBy: string;
  experts: number;
  plan: BundlePlan;
  /** The plan's memory on this device (bundlePlan's memoryOn). */
  memory: BundlePlan['memory'];
  /** The biggest buffer the GPU adapter allows (WebGPU). */
  deviceBufferLimit: number | null;
  /** Why it cannot run on this device, or null. */
  problem: string | null;
}

/**
 * Where a dropped checkpoint's SVD products run on `backend`: WGSL on a hardware GPU; onnxruntime-web's
 * WASM MatMul on a software adapter, where it is ~10x faster than WGSL (docs/benchmarks.md), and on WASM.
 */
export function svdProductsOn(backend: BackendInfo, preference: 'auto' | 'webgpu' | 'wasm' = 'auto'): 'webgpu' | 'wasm' {
  if (backend.kind !== 'webgpu') return 'wasm';
  return preference === 'auto' ? (backend.isSoftware ? 'wasm' : 'webgpu') : preference;
}

/** Reads a bundle's manifest and measures it against this device; a missing or broken bundle throws (BundleLoadError). */
export async function checkBrowserBundle(url: string, preference: BackendPreference): Promise<BundleCheck> {
  const probed = await probeBackend(preference);
  const { manifest, plan } = await checkBundle(url, { only: neededAtLoad });
  const backend = chooseForModel(probed, preference, plan.parameters);
  const limits = limitsOf(backend);
  return {
    url,
    backend,
    createdBy: manifest.createdBy,
    experts: manifest.experts.length,
    plan,
    memory: memoryOn(plan, limits),
    deviceBufferLimit: limits.kind === 'webgpu' ? Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize) : null,
    problem: deviceFitProblem(plan, limits),
  };
}

/**
 * `wasmPaths`: the folder that serves onnxruntime-web's wasm (ORT_WASM_FILE); the site's /ort/ when
 * left out. `withBaseDelta`: fetch D now too (restoring stored PEFT adapters), not on first need.
 * `beforeAllocate`: runs once the bundle is downloaded and checked, before any GPU or model memory is
 * taken (the worker frees the bundle it had there, so a bundle that fails to download leaves it loaded).
 * `composedFloat32`: float32 composed weights even where the adapter has shader-f16 (`npm run check:gpu` compares both).
 */
export async function openBrowserSession(
  url: string,
  preference: BackendPreference,
  onProgress: (p: SessionProgress) => void,
  opts: {
    wasmPaths?: string;
    withBaseDelta?: boolean;
    beforeAllocate?: () => Promise<void>;
    composedFloat32?: boolean;
    /** Where a dropped checkpoint's SVD products run: 'auto' (WGSL on a hardware GPU, onnxruntime-web on WASM otherwise), or forced (benchmarks). */
    svdProducts?: 'auto' | 'webgpu' | 'wasm';
  } = {},
): Promise<TwinSession> {
  let probed = await probeBackend(preference);
  // Full fine-tuned weights are fetched on demand (compare view), not at load.
  // Before any download: the backend for this model's size (a software adapter leaves large models to
  // WASM), and does the model fit its buffers (composed f16 where it has shader-f16), or wasm's memory?
  const fits = (plan: BundlePlan) => {
    probed = chooseForModel(probed, preference, plan.parameters);
    return deviceFitProblem(plan, limitsOf(probed));
  };
  const bundle = await loadBundle(url, { onProgress, only: (f, m) => neededAtLoad(f, m) || (!!opts.withBaseDelta && f.path === m.shared.baseDelta?.file), fits });
  await opts.beforeAllocate?.();
  let backend: BackendInfo = probed;
  let device: GPUDevice | undefined;
  let f16 = false;
  if (probed.kind === 'webgpu') {
    try {
      const ctx = await createWebGpuDevice();
      device = ctx.device;
      f16 = ctx.f16;
    } catch (e) {
      backend = { kind: 'wasm', reason: `WebGPU device could not be created (${e instanceof Error ? e.message : String(e)}).`, threads: 1 };
    }
  }
  // With shader-f16 the composer writes half-precision weights (half the bytes) for a graph whose
  // weight inputs are float16. Software adapters (SwiftShader) pay dearly for workgroup barriers:
  // the flat kernel there.
  const weightInputType = device && f16 && !opts.composedFloat32 ? 'float16' : 'float32';
  const kernel = probed.kind === 'webgpu' && probed.isSoftware ? 'flat' : 'tiled';
  // There, too, onnxruntime-web's MatMul wastes its tiles on a one-row decode step: the chat decodes
  // on a single-token step graph (Einsum projections; decoder.ts singleTokenStep).
  const singleTokenStep = !!device && probed.kind === 'webgpu' && probed.isSoftware;
  const ortFolder = new URL(opts.wasmPaths ?? '/ort/', self.location.href).href;
  // One ORT module per page: the WebGPU build when there is a device (its WASM EP runs the routing
  // pass), else the plain WASM build where the site serves it (about twice as fast at real sizes).
  const build = ortBuildFor(!!device);
  const wasmThreads = backend.kind === 'wasm' ? backend.threads : 1;
  return TwinSession.create({
    bundle,
    backend,
    weightInputType,
    device,
    ...(device ? { liveBuffers: trackBuffers(device) } : {}),
    createComposer: () => (device ? new GpuComposer(device, kernel, weightInputType === 'float16' ? 'f16' : 'f32') : new CpuComposer()),
    // On WASM the chat's composed weights stay resident in its session (onnxruntime-web would copy
    // every weight input into the wasm heap on every run): rebuilt once per composition.
    createEngine: (spec, graph, use) =>
      createBrowserEngine(spec, graph, device ? { kind: 'webgpu', device } : { kind: 'wasm', threads: wasmThreads }, { wasmPaths: ortFolder, build, singleTokenStep: singleTokenStep && use === 'chat', engine: { residentWeights: !device && use === 'chat' } }),
    // The routing pass on onnxruntime-web's CPU EP, whatever the chat runs on (routerPass.ts).
    createRouterEngine: async (spec, graph) => (await createBrowserEngine(spec, graph, { kind: 'wasm', threads: wasmThreads }, { wasmPaths: ortFolder, build })).engine,
    // A dropped checkpoint's SVD products (svdProductsOn): WGSL on the chat's device, or onnxruntime-web's MatMul.
    createMatrixProducts: async () =>
      device && svdProductsOn(backend, opts.svdProducts) === 'webgpu'
        ? createGpuMatrixProducts(device)
        : createOrtMatrixProducts(await loadBrowserOrt({ kind: 'wasm', threads: wasmThreads }, { wasmPaths: ortFolder, build }), { executionProviders: ['wasm'] }),
    fetchFile: async (path) => {
      const loaded = await loadBundle(url, { only: (f) => f.path === path });
      const bytes = loaded.files.get(path);
      if (!bytes) throw new SessionError('BUNDLE', `${path} is not listed in the bundle manifest`, path);
      return bytes;
    },
    onProgress,
  });
}
