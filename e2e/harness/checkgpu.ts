// `npm run check:gpu`'s page: what SwiftShader cannot exercise. On an adapter with shader-f16 the app
// composes float16 weights for a float16-input graph; this page opens the same bundle twice on the
// same adapter, float16 and float32 composed, answers the same prompts greedily with each, and
// reports the routing and token agreement and the speeds side by side.
import { parseManifest } from '../../src/core/bundle/manifest.ts';
import { openBrowserSession } from '../../src/runtime/twin/browserSession.ts';
import { DEFAULT_SETTINGS } from '../../src/worker/protocol.ts';
import type { GpuCheck, GpuCheckRun } from '../../src/cli/bench/results.ts';

const now = () => performance.now();

async function check(o: { bundleUrl: string; maxNewTokens: number }): Promise<GpuCheck> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) return { adapter: null, shaderF16: false, runs: [] };
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
  return { adapter: { vendor: info.vendor, architecture: info.architecture, description: info.description, isFallback: (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false }, shaderF16, runs };
}

(window as unknown as { gpuCheck: { check: typeof check } }).gpuCheck = { check };
document.body.dataset.ready = 'true';
