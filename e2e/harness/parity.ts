// Runs in Chromium: a zoo checkpoint through our graph (weights as graph inputs, fed as GPU buffers
// on WebGPU or CPU tensors on WASM) compared with the PyTorch fixtures' float32 logits.
import { decodeSafetensors, toFloat32 } from '../../src/core/safetensors/index.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { buildDecoderGraph } from '../../src/model/onnx/decoder.ts';
import { createBrowserEngine, createWebGpuDevice, ortBuildFor } from '../../src/runtime/browser.ts';
import { cpuWeightFeeds, uploadGpuWeights } from '../../src/runtime/weights.ts';

async function bytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/**
 * `steps` > 0: the last `steps` tokens of each sequence run one at a time on the single-token step
 * graph (createBrowserEngine singleTokenStep; WebGPU), the rest in one general run; compared there.
 */
async function parity(checkpoint: string, fixture: string, backend: 'webgpu' | 'wasm', weightInputType: 'float32' | 'float16' = 'float32', steps = 0) {
  const spec = parseModelConfig(JSON.parse(new TextDecoder().decode(await bytes(`/models/${checkpoint}/config.json`))));
  const weights = decodeSafetensors(await bytes(`/models/${checkpoint}/model.safetensors`)).tensors;
  const fx = decodeSafetensors(await bytes(`/models/fixtures/${fixture}`)).tensors;
  const graph = buildDecoderGraph(spec, { weights: 'inputs', logits: 'all', weightInputType });
  const device = backend === 'webgpu' ? (await createWebGpuDevice()).device : undefined;
  // The ORT build the app would run on this backend (the plain one on WASM where served).
  const { ort, engine } = await createBrowserEngine(spec, graph, device ? { kind: 'webgpu', device } : { kind: 'wasm' }, { wasmPaths: '/ort/', build: ortBuildFor(!!device), singleTokenStep: steps > 0 });
  const get = (n: string) => toFloat32(weights.get(n)!);
  const gpu = device ? await uploadGpuWeights(ort, device, graph.io, get) : undefined;
  engine.setWeights(gpu ? gpu.feeds : await cpuWeightFeeds(ort, graph.io, get));
  const out: { seq: string; tokens: number; maxAbs: number }[] = [];
  for (let s = 0; fx.has(`seq${s}.input_ids`); s++) {
    const ids = Array.from(fx.get(`seq${s}.input_ids`)!.data as BigInt64Array, Number);
    const want = toFloat32(fx.get(`seq${s}.logits`)!);
    engine.resetCache();
    const split = ids.length - steps;
    const parts = [(await engine.forward(ids.slice(0, split), { allLogits: true })).allLogits!];
    for (const id of ids.slice(split)) parts.push((await engine.forward([id])).logits);
    const got = Float32Array.from(parts.flatMap((p) => Array.from(p)));
    if (steps > 0 && engine.runs.step === 0) throw new Error('no run took the single-token step graph');
    let maxAbs = 0;
    for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i]! - want[i]!));
    out.push({ seq: `seq${s}`, tokens: ids.length, maxAbs });
  }
  await engine.dispose();
  gpu?.destroy();
  device?.destroy();
  return out;
}

(window as unknown as { parityHarness: unknown }).parityHarness = { parity };
document.body.dataset.ready = 'true';
