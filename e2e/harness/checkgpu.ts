// `npm run check:gpu`'s page: what SwiftShader cannot exercise. On an adapter with shader-f16 the app
// composes float16 weights for a float16-input graph; this page opens the same bundle twice on the
// same adapter, float16 and float32 composed, answers the same prompts greedily with each, and
// reports the routing and token agreement and the speeds side by side. Then a dropped checkpoint's
// randomized SVD at the SmolLM2-135M shapes with its products in WGSL and on onnxruntime-web's WASM
// MatMul: agreement and time (the app picks WGSL on hardware GPUs only: browserSession.ts svdProductsOn).
import { parseManifest } from '../../src/core/bundle/manifest.ts';
import { multiplyFactors, truncatedSvdAsync, type MatrixProducts } from '../../src/core/linalg/index.ts';
import { Rng } from '../../src/core/tensor/random.ts';
import { createWebGpuDevice, loadBrowserOrt } from '../../src/runtime/browser.ts';
import { createGpuMatrixProducts } from '../../src/runtime/gpuMatrixProducts.ts';
import { createOrtMatrixProducts } from '../../src/runtime/matrixProducts.ts';
import { openBrowserSession } from '../../src/runtime/twin/browserSession.ts';
import { DEFAULT_SETTINGS } from '../../src/worker/protocol.ts';
import type { GpuCheck, GpuCheckRun, GpuCheckSvd } from '../../src/cli/bench/results.ts';

const now = () => performance.now();

async function check(o: { bundleUrl: string; maxNewTokens: number; svdShapes: [number, number][] }): Promise<GpuCheck> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) return { adapter: null, shaderF16: false, runs: [], svd: [] };
  const info = adapter.info;
  const shaderF16 = adapter.features.has('shader-f16');
  const manifest = parseManifest(await (await fetch(`${o.bundleUrl}/manifest.json`)).text(), 'manifest.json');
  const prompts = manifest.experts.map((e) => e.examplePrompts[0]!);
  const runs: GpuCheckRun[] = [];
  for (const composed of shaderF16 ? (['float16', 'float32'] as const) : (['float32'] as const)) {
    const t0 = now();
    const session = await openBrowserSession(o.bundleUrl, 'webgpu', () => undefined, { composedFloat32: composed === 'float32' });
    const openMs = now() - t0;
    const answers: GpuCheckRun['answers'] = [];
    for (const prompt of prompts) {
      const r = await session.generate([{ role: 'user', content: prompt }], { ...DEFAULT_SETTINGS, temperature: 0, maxNewTokens: o.maxNewTokens }, { kind: 'twin' }, () => undefined, new AbortController().signal);
      answers.push({ prompt, tokenIds: r.tokenIds, routing: r.routing, composeMs: r.timings.composeMs, firstTokenMs: r.timings.firstTokenMs, tokensPerSecond: r.timings.tokensPerSecond });
    }
    const m = session.memory();
    runs.push({ composed, openMs, answers, memory: { shared: m.shared, composed: m.composed, experts: m.experts } });
    await session.dispose();
  }
  return { adapter: { vendor: info.vendor, architecture: info.architecture, description: info.description, isFallback: (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false }, shaderF16, runs, svd: await svdProducts(o.svdShapes) };
}

/** Random [rows, cols] residual-like matrices (a decaying spectrum plus noise) factored at `rank` both ways. */
async function svdProducts(shapes: [number, number][]): Promise<GpuCheckSvd[]> {
  const { device } = await createWebGpuDevice();
  const wasmThreads = crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  const ort = await loadBrowserOrt({ kind: 'wasm', threads: wasmThreads }, { wasmPaths: '/ort/' });
  const wasm = await createOrtMatrixProducts(ort, { executionProviders: ['wasm'] });
  const wgsl = createGpuMatrixProducts(device);
  const out: GpuCheckSvd[] = [];
  const rank = 16;
  for (const [rows, cols] of shapes) {
    const rng = new Rng(rows + cols);
    const m = new Float32Array(rows * cols);
    for (let t = 0; t < 32; t++) {
      const u = Float32Array.from({ length: rows }, () => rng.normal() * Math.exp(-t / 8));
      const v = Float32Array.from({ length: cols }, () => rng.normal());
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m[i * cols + j]! += u[i]! * v[j]!;
    }
    for (let i = 0; i < m.length; i++) m[i]! += 0.01 * rng.normal();
    const timed = async (p: MatrixProducts) => {
      const t0 = now();
      const f = await truncatedSvdAsync(m, rows, cols, rank, { seed: 0 }, p);
      return { ms: now() - t0, ba: multiplyFactors(f) };
    };
    await timed(wgsl); // compiles the pipelines
    const g = await timed(wgsl);
    const w = await timed(wasm);
    let num = 0;
    let den = 0;
    for (let i = 0; i < w.ba.length; i++) (num += (g.ba[i]! - w.ba[i]!) ** 2), (den += w.ba[i]! ** 2);
    out.push({ rows, cols, rank, wgslMs: g.ms, wasmMs: w.ms, wasmThreads, productRelDiff: Math.sqrt(num / den) });
  }
  wgsl.release();
  await wasm.release();
  device.destroy();
  return out;
}

(window as unknown as { gpuCheck: { check: typeof check } }).gpuCheck = { check };
document.body.dataset.ready = 'true';
