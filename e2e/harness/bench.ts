// Benchmark page (Chromium, WebGPU). Driven by src/cli/bench/browser.ts through Playwright; each
// section runs in a fresh page load so that onnxruntime-web only ever sees one GPUDevice.
// Times are wall clock around work that is awaited to completion on the device
// (queue.onSubmittedWorkDone), medians of alternating runs; ratios are computed from the same run.
import { decodeSafetensors, toFloat32 } from '../../src/core/safetensors/index.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { GraphBuilder } from '../../src/model/onnx/graph.ts';
import { buildDecoderGraph, transpose2d } from '../../src/model/onnx/decoder.ts';
import { createBrowserEngine, createWebGpuDevice, loadBrowserOrt, ortBuildFor } from '../../src/runtime/browser.ts';
import { loadBundle } from '../../src/runtime/bundleLoader.ts';
import { GpuComposer } from '../../src/runtime/composer/gpuComposer.ts';
import type { DecoderEngine } from '../../src/runtime/engine.ts';
import { generate } from '../../src/runtime/generate.ts';
import { argmax } from '../../src/runtime/sampling.ts';
import type { OrtModule, OrtSession, OrtTensor } from '../../src/runtime/ort.ts';
import { cpuWeightFeeds, uploadGpuWeights } from '../../src/runtime/weights.ts';
import { readBundle } from '../../src/core/twin/index.ts';
import { isSoftwareAdapter } from '../../src/runtime/backendProbe.ts';
import { openBrowserSession, svdProductsOn } from '../../src/runtime/twin/browserSession.ts';
import { fetchDroppedFiles, toBase64 } from './droppedFiles.ts';
import {
  alternatingRoutings,
  composeBytes,
  composeFlops,
  composedElements,
  caseShapes,
  median,
  randomComposerInputs,
  type ComposeCase,
  type ComposeShape,
} from '../../src/cli/bench/shapes.ts';
import { tokenTimings } from '../../src/cli/bench/tokenTimings.ts';
import type { ComposerBenchResult, CopyResult, DecodeResult, EngineBrowserResult, ExtractBrowserResult, OverheadResult } from '../../src/cli/bench/results.ts';

const now = () => performance.now();
const WASM_PATHS = '/ort/';

let cached: { device: GPUDevice; adapterName: string; isSoftware: boolean } | undefined;
async function gpu(): Promise<{ device: GPUDevice; adapterName: string; isSoftware: boolean }> {
  if (cached) return cached;
  const ctx = await createWebGpuDevice();
  const info = ctx.adapter.info;
  cached = { device: ctx.device, adapterName: [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter', isSoftware: isSoftwareAdapter(info) };
  return cached;
}

async function copyBandwidth(device: GPUDevice, mb: number, iters: number): Promise<CopyResult> {
  const size = mb * 1024 * 1024;
  const src = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const dst = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const once = async () => {
    const t = now();
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(src, 0, dst, 0, size);
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return now() - t;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) times.push(await once());
  src.destroy();
  dst.destroy();
  const ms = median(times);
  return { bytes: 2 * size, ms, gbPerS: (2 * size) / ms / 1e6 };
}

/** One graph with one node chain per composed weight: Y = A_catᵀ[in, R] · B_cat[R, out] (+ S[in, out]). */
function ortGraph(shapes: readonly ComposeShape[], experts: number, withAdd: boolean): Uint8Array {
  const g = new GraphBuilder(withAdd ? 'bench_matmul_add' : 'bench_matmul');
  shapes.forEach((w, i) => {
    const R = w.rank * experts;
    const a = g.input(`a${i}`, 'float32', [w.inDim, R]);
    const b = g.input(`b${i}`, 'float32', [R, w.outDim]);
    let y = g.op('MatMul', [a, b]);
    if (withAdd) y = g.op('Add', [y, g.input(`s${i}`, 'float32', [w.inDim, w.outDim])]);
    g.output(y, `y${i}`, 'float32', [w.inDim, w.outDim]);
  });
  return g.encode({ opset: 17 });
}

interface OrtCase {
  session: OrtSession;
  feeds: Record<string, OrtTensor>;
  fetches: Record<string, OrtTensor> | undefined;
  buffers: GPUBuffer[];
  outputsPreallocated: boolean;
}

async function ortCase(ort: OrtModule, device: GPUDevice, shapes: readonly ComposeShape[], experts: number, withAdd: boolean): Promise<OrtCase> {
  const buffers: GPUBuffer[] = [];
  const buf = (dims: number[]) => {
    const size = Math.max(16, Math.ceil((dims[0]! * dims[1]! * 4) / 16) * 16);
    const b = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    buffers.push(b);
    return ort.Tensor.fromGpuBuffer(b, { dataType: 'float32', dims });
  };
  const feeds: Record<string, OrtTensor> = {};
  const fetches: Record<string, OrtTensor> = {};
  shapes.forEach((w, i) => {
    const R = w.rank * experts;
    feeds[`a${i}`] = buf([w.inDim, R]);
    feeds[`b${i}`] = buf([R, w.outDim]);
    if (withAdd) feeds[`s${i}`] = buf([w.inDim, w.outDim]);
    fetches[`y${i}`] = buf([w.inDim, w.outDim]);
  });
  const bytes = ortGraph(shapes, experts, withAdd);
  // Outputs written into buffers we own (like the composer's); if this ORT build refuses
  // pre-allocated GPU outputs, let it allocate them on the GPU and dispose them after each run.
  try {
    const session = await ort.InferenceSession.create(bytes, { executionProviders: [{ name: 'webgpu', device } as never] });
    await session.run(feeds, fetches);
    await device.queue.onSubmittedWorkDone();
    return { session, feeds, fetches, buffers, outputsPreallocated: true };
  } catch {
    const loc: Record<string, 'gpu-buffer'> = {};
    shapes.forEach((_, i) => (loc[`y${i}`] = 'gpu-buffer'));
    const session = await ort.InferenceSession.create(bytes, { executionProviders: [{ name: 'webgpu', device } as never], preferredOutputLocation: loc });
    return { session, feeds, fetches: undefined, buffers, outputsPreallocated: false };
  }
}

async function runOrt(c: OrtCase, device: GPUDevice): Promise<number> {
  const t = now();
  if (c.fetches) await c.session.run(c.feeds, c.fetches);
  else {
    const out = await c.session.run(c.feeds);
    await device.queue.onSubmittedWorkDone();
    const ms = now() - t;
    for (const v of Object.values(out)) v.dispose();
    return ms;
  }
  await device.queue.onSubmittedWorkDone();
  return now() - t;
}

async function composer(c: ComposeCase & { iters: number; ort: boolean; ortAdd: boolean; copyMb: number }): Promise<ComposerBenchResult> {
  const { device, adapterName } = await gpu();
  const errors: string[] = [];
  device.addEventListener('uncapturederror', (e) => errors.push((e as GPUUncapturedErrorEvent).error.message));
  const t0 = now();
  const { shapes, fullModelScale } = caseShapes(c);
  const inputs = randomComposerInputs(shapes, c.experts, c.sharedDtype);
  // Both kernels, measured in the same loop; composeMs is the one the app picks on this adapter
  // (session.ts: flat on software adapters such as SwiftShader, tiled elsewhere).
  const software = /swiftshader/i.test(adapterName);
  const comps = (['tiled', 'flat'] as const).map((k) => new GpuComposer(device, k));
  // Compose only what changed (composePlan.ts): the app's kernel, where one expert's weight moves
  // between messages and the others stay.
  const deltaComp = new GpuComposer(device, software ? 'flat' : 'tiled');
  for (const comp of [...comps, deltaComp]) {
    for (const w of inputs.weights) comp.addWeight(w.weight, w.shared);
    comp.setExperts(inputs.modules);
  }
  inputs.weights.length = 0; // let the CPU copies go
  const routings = alternatingRoutings(c.experts);
  for (const comp of comps) await comp.compose(routings[1]); // warm-up: pipelines compiled, buffers touched
  const oneMoves = [0.05, -0.05].map((d) => new Map([...routings[0]].map(([id, w], t) => [id, t === 0 ? w + d : w])));
  await deltaComp.compose(routings[0]);
  await deltaComp.compose(oneMoves[1]!); // warm-up of the delta pipeline
  let ort: OrtModule | undefined;
  let mm: OrtCase | undefined;
  let mmAdd: OrtCase | undefined;
  if (c.ort) {
    ort = await loadBrowserOrt({ kind: 'webgpu', device }, { wasmPaths: WASM_PATHS });
    mm = await ortCase(ort, device, shapes, c.experts, false);
    await runOrt(mm, device);
    if (c.ortAdd) {
      mmAdd = await ortCase(ort, device, shapes, c.experts, true);
      await runOrt(mmAdd, device);
    }
  }
  const setupMs = now() - t0;
  const ours: number[][] = comps.map(() => []);
  const oneMovedMs: number[] = [];
  const ortMm: number[] = [];
  const ortMmAdd: number[] = [];
  // Interleaved so that machine noise hits every variant alike.
  for (let i = 0; i < c.iters; i++) {
    for (const [k, comp] of comps.entries()) {
      const t = now();
      const changed = await comp.compose(routings[i % 2]!);
      ours[k]!.push(now() - t);
      if (!changed) throw new Error('compose did not run (routing unchanged?)');
    }
    {
      const t = now();
      await deltaComp.compose(oneMoves[i % 2]!);
      // Every MAX_DELTAS_IN_A_ROW-th update composes from scratch: only the in-place ones count here.
      if (deltaComp.lastPlan === 'delta') oneMovedMs.push(now() - t);
    }
    if (mm) ortMm.push(await runOrt(mm, device));
    if (mmAdd) ortMmAdd.push(await runOrt(mmAdd, device));
  }
  const copy = await copyBandwidth(device, c.copyMb, 5);
  for (const oc of [mm, mmAdd]) {
    if (!oc) continue;
    await oc.session.release();
    for (const b of oc.buffers) b.destroy();
  }
  for (const comp of [...comps, deltaComp]) comp.destroy();
  if (errors.length) throw new Error(`WebGPU errors: ${errors.slice(0, 3).join('; ')}`);
  return {
    label: c.label,
    adapter: adapterName,
    weights: shapes.length,
    elements: composedElements(shapes),
    experts: c.experts,
    rank: c.rank,
    sharedDtype: c.sharedDtype,
    layersRun: c.layersRun,
    layersFull: c.layersFull,
    fullModelScale,
    flops: composeFlops(shapes, c.experts),
    bytesMoved: composeBytes(shapes, c.experts, c.sharedDtype),
    iters: c.iters,
    kernel: software ? 'flat' : 'tiled',
    composeMs: median(ours[software ? 1 : 0]!),
    composeMsAll: ours[software ? 1 : 0]!,
    byKernel: comps.map((comp, k) => ({ kernel: comp.kernel, composeMs: median(ours[k]!) })),
    oneExpertMovedMs: oneMovedMs.length ? median(oneMovedMs) : null,
    ortMatMulMs: mm ? median(ortMm) : null,
    ortMatMulAddMs: mmAdd ? median(ortMmAdd) : null,
    ortOutputsPreallocated: mm ? mm.outputsPreallocated : null,
    copy,
    setupMs,
  };
}

/** The product path: TwinSession per message (route on the shared model, compose, generate). */
async function overhead(o: { bundleUrl: string; backend?: 'webgpu' | 'wasm'; prompts: { expert: string; text: string }[]; messages: number; maxNewTokens: number }): Promise<OverheadResult> {
  const t0 = now();
  const session = await openBrowserSession(o.bundleUrl, o.backend ?? 'webgpu', () => undefined, { wasmPaths: WASM_PATHS });
  const openMs = now() - t0;
  const settings = { temperature: 0, topK: 0, topP: 1, maxNewTokens: o.maxNewTokens, seed: 0, routingTemperature: 1, routingTopK: 0 };
  const ask = (text: string) => session.generate([{ role: 'user', content: text }], settings, { kind: 'twin' }, () => undefined, new AbortController().signal);
  // The page's first message: the session warmed its kernels at load, so this should be like the rest.
  const firstReply = await ask(o.prompts[0]!.text);
  const first = { expert: o.prompts[0]!.expert, ...firstReply.timings, top: '' };
  const messages: OverheadResult['messages'] = [];
  for (let i = 0; i < o.messages; i++) {
    const p = o.prompts[(i + 1) % o.prompts.length]!;
    const r = await ask(p.text);
    const top = Object.entries(r.routing).sort((a, b) => b[1] - a[1])[0];
    messages.push({ expert: p.expert, ...r.timings, top: top ? `${top[0]}:${top[1].toFixed(2)}` : '' });
  }
  const b = session.backend;
  const backend = b.kind === 'webgpu' ? `webgpu (${b.adapterName})` : `wasm (${b.threads} thread${b.threads === 1 ? '' : 's'})`;
  await session.dispose();
  return { adapter: backend, backend: session.backend.kind, messages, first, openMs };
}

/** A full checkpoint (its files by URL) added to a session on the bundle: the extraction the app runs on a drop. */
async function extract(o: { bundleUrl: string; backend: 'webgpu' | 'wasm'; svdProducts: 'auto' | 'webgpu' | 'wasm'; files: string[]; prompts: string[] }): Promise<ExtractBrowserResult> {
  const t0 = now();
  const session = await openBrowserSession(o.bundleUrl, o.backend, () => undefined, { wasmPaths: WASM_PATHS, svdProducts: o.svdProducts });
  const openMs = now() - t0;
  const files = await fetchDroppedFiles(o.files);
  const t1 = now();
  const added = await session.addExpert({ id: 'dropped', name: 'dropped', description: 'a dropped checkpoint', examplePrompts: o.prompts, files });
  const addMs = now() - t1;
  const b = session.backend;
  await session.dispose();
  const adapter = b.kind === 'webgpu' ? `webgpu (${b.adapterName})` : `wasm (${b.threads} thread${b.threads === 1 ? '' : 's'})`;
  return { adapter, backend: b.kind, products: svdProductsOn(b, o.svdProducts), openMs, extractMs: added.extractMs, addMs, moduleBase64: toBase64(added.moduleFile!.bytes) };
}

/**
 * Decode with composed weights fed as GPU buffers (weights-as-inputs graph; resident on WASM, as the
 * app) vs the same weights baked into a static graph (initializers), on the same EP and device, the
 * two decoding in lockstep.
 */
async function decode(o: { bundleUrl: string; backend: 'webgpu' | 'wasm'; promptTokens: number; decodeTokens: number; reps: number }): Promise<DecodeResult> {
  const bundle = await loadBundle(o.bundleUrl, { only: (f) => !f.path.endsWith('.full.safetensors') });
  const { manifest, files } = bundle;
  const spec = parseModelConfig(manifest.architecture);
  const inputsGraph = buildDecoderGraph(spec, { weights: 'inputs', logits: 'last' });
  const weights = inputsGraph.io.weightInputs;
  const { device, isSoftware } = await gpu(); // the composer runs on the GPU in both cases
  const comp = new GpuComposer(device);
  const tb = readBundle(manifest, (p) => files.get(p)!, weights);
  for (const w of weights) comp.addWeight(w, tb.shared.get(w.name)!);
  comp.setExperts(tb.experts.map((e) => ({ id: e.entry.id, module: e.module })));
  const routing = new Map(manifest.experts.map((e, i) => [e.id, i === 0 ? 0.7 : 0.3 / Math.max(1, manifest.experts.length - 1)]));
  const tc = now();
  await comp.compose(routing);
  const composeMs = now() - tc;
  const graphLayout = new Map<string, Float32Array>();
  for (const w of weights) graphLayout.set(w.name, await comp.readOutput(w.name));
  // Back to HF layout for the static export ([in, out] → [out, in] for transposed weights).
  const hf = (name: string) => {
    const w = weights.find((x) => x.name === name)!;
    const g = graphLayout.get(name)!.subarray(0, w.graphShape.reduce((a, b) => a * b, 1));
    return w.transposed ? transpose2d(g, w.graphShape[0]!, w.graphShape[1]!) : g;
  };
  const staticGraph = buildDecoderGraph(spec, { weights: 'initializers', logits: 'last', weight: hf });
  const be = o.backend === 'webgpu' ? ({ kind: 'webgpu', device } as const) : ({ kind: 'wasm', threads: 1 } as const);
  // As the app runs it: on WASM the composed weights stay resident in the session (engine.ts residentWeights).
  // The ORT build the app's page would run (the plain one on WASM where served: browser.ts ortBuildFor).
  const build = ortBuildFor(o.backend === 'webgpu');
  // On a software adapter the app decodes on the single-token step graph: both engines do, the static one on its own with the weights baked in.
  const step = o.backend === 'webgpu' && isSoftware;
  const a = await createBrowserEngine(spec, inputsGraph, be, { wasmPaths: WASM_PATHS, build, singleTokenStep: step, engine: { residentWeights: o.backend === 'wasm' } });
  const feeds: Record<string, OrtTensor> = {};
  for (const w of weights) {
    feeds[w.name] =
      o.backend === 'webgpu'
        ? a.ort.Tensor.fromGpuBuffer(comp.output(w.name), { dataType: 'float32', dims: w.graphShape })
        : new a.ort.Tensor('float32', graphLayout.get(w.name)!.slice(0, w.graphShape.reduce((x, y) => x * y, 1)), w.graphShape);
  }
  a.engine.setWeights(feeds);
  const residentBuildMs = await a.engine.prepare();
  const staticStep = step ? { engine: { stepModel: buildDecoderGraph(spec, { weights: 'initializers', logits: 'last', weight: hf, singleTokenStep: true }).bytes } } : {};
  const b = await createBrowserEngine(spec, staticGraph, be, { wasmPaths: WASM_PATHS, build, ...staticStep });
  b.engine.setWeights({});
  const prompt = Array.from({ length: o.promptTokens }, (_, i) => (i * 31 + 7) % Math.min(spec.vocabSize, 256));
  // One round: both engines prefill the prompt, then decode greedily in lockstep, one step each in turn
  // (ABBA: the order flips every step), so each composed step has a static neighbour run a millisecond
  // apart. Whole-run A-then-B pairs left this machine's drift in: two identical resident engines read
  // 0.96 that way, single WASM rounds 0.31-1.92.
  const round = async () => {
    const side = { composed: { e: a.engine, ms: [] as number[], tokens: [] as number[], prefillMs: 0 }, static: { e: b.engine, ms: [] as number[], tokens: [] as number[], prefillMs: 0 } };
    const logits = new Map<keyof typeof side, Float32Array>();
    for (const k of ['composed', 'static'] as const) {
      side[k].e.resetCache();
      const t0 = now();
      logits.set(k, (await side[k].e.prefill(prompt)).logits);
      side[k].prefillMs = now() - t0;
    }
    for (let i = 0; i < o.decodeTokens; i++) {
      for (const k of i % 2 ? (['static', 'composed'] as const) : (['composed', 'static'] as const)) {
        const tok = argmax(logits.get(k)!);
        side[k].tokens.push(tok);
        const t0 = now();
        logits.set(k, (await side[k].e.forward([tok])).logits);
        side[k].ms.push(now() - t0);
      }
    }
    return side;
  };
  await round(); // warm-up both
  const res: DecodeResult = {
    backend: o.backend,
    promptTokens: o.promptTokens,
    decodeTokens: o.decodeTokens,
    reps: o.reps,
    composed: { decodeTokS: [], stepMs: [], prefillMs: [] },
    static: { decodeTokS: [], stepMs: [], prefillMs: [] },
    stepRatio: [],
    sameTokens: true,
    composeMs,
    residentBuildMs,
  };
  for (let i = 0; i < o.reps; i++) {
    const side = await round();
    for (const k of ['composed', 'static'] as const) {
      res[k].decodeTokS.push(side[k].ms.length / (side[k].ms.reduce((x, y) => x + y, 0) / 1000));
      res[k].stepMs.push(median(side[k].ms));
      res[k].prefillMs.push(side[k].prefillMs);
    }
    // Static / composed time of each pair of neighbouring steps: > 1 means composed is faster.
    res.stepRatio.push(median(side.static.ms.map((m, j) => m / side.composed.ms[j]!)));
    if (side.composed.tokens.join(',') !== side.static.tokens.join(',')) res.sameTokens = false;
  }
  await a.engine.dispose();
  await b.engine.dispose();
  comp.destroy();
  return res;
}

const benchPrompt = (n: number, vocab: number) => Array.from({ length: n }, (_, i) => (i * 31 + 7) % Math.min(vocab, 256));

/** One implementation ready to generate: each call a greedy generation of decodeTokens + 1 tokens from the prompt, no EOS. */
interface EngineUnderTest {
  impl: EngineBrowserResult['impl'];
  detail: string;
  /** Prefill = from the call to the first token; decode = from the first token to the last; stepMs = the median time between two tokens. */
  generate(): Promise<{ prefillMs: number; decodeMs: number; stepMs: number; tokens: number[] }>;
  dispose(): Promise<void>;
}

type EngineCompareArgs = { ckptUrl: string; modelRoot: string; model: string; ortUrl: string; ep: 'webgpu' | 'wasm'; promptTokens: number; decodeTokens: number; reps: number; vocab: number; warmups: number };

/**
 * Ours in the page: the weights-as-inputs graph (the product's path; logits of the last position
 * only), weights read from the checkpoint's safetensors and fed as GPU buffers (WebGPU EP, on the
 * page's device; the single-token step graph on a software adapter, as the app) or held resident
 * (WASM EP, 1 thread, as the app's chat engine).
 */
async function setupOurs(o: EngineCompareArgs): Promise<EngineUnderTest> {
  const [config, st] = await Promise.all([
    fetch(`${o.ckptUrl}/config.json`).then((r) => r.json() as Promise<unknown>),
    fetch(`${o.ckptUrl}/model.safetensors`).then((r) => r.arrayBuffer()),
  ]);
  const spec = parseModelConfig(config);
  const { tensors } = decodeSafetensors(new Uint8Array(st));
  const get = (name: string) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`model.safetensors has no ${name}`);
    return toFloat32(t);
  };
  const graph = buildDecoderGraph(spec, { weights: 'inputs', logits: 'last' });
  let detail = 'wasm (1 thread)';
  let destroy = () => undefined as void;
  let engine: DecoderEngine;
  if (o.ep === 'webgpu') {
    const { device, adapterName, isSoftware } = await gpu();
    detail = `${adapterName}${isSoftware ? ', single-token step graph' : ''}`;
    const a = await createBrowserEngine(spec, graph, { kind: 'webgpu', device }, { wasmPaths: WASM_PATHS, singleTokenStep: isSoftware });
    const w = await uploadGpuWeights(a.ort, device, graph.io, get);
    destroy = () => w.destroy();
    a.engine.setWeights(w.feeds);
    engine = a.engine;
  } else {
    const a = await createBrowserEngine(spec, graph, { kind: 'wasm', threads: 1 }, { wasmPaths: WASM_PATHS, build: ortBuildFor(false), engine: { residentWeights: true } });
    a.engine.setWeights(await cpuWeightFeeds(a.ort, graph.io, get));
    engine = a.engine;
  }
  const prompt = benchPrompt(o.promptTokens, spec.vocabSize);
  return {
    impl: 'ours',
    detail,
    async generate() {
      engine.resetCache();
      const stamps: number[] = [];
      const t0 = now();
      const r = await generate(engine, prompt, { maxNewTokens: o.decodeTokens + 1, eosTokenIds: [], onToken: () => void stamps.push(now()) });
      return { ...tokenTimings(t0, stamps), tokens: r.tokens };
    },
    async dispose() {
      await engine.dispose();
      destroy();
    },
  };
}

/**
 * transformers.js in the page: AutoModelForCausalLM.from_pretrained on the standard export served
 * under modelRoot, device 'webgpu' or 'wasm', dtype fp32, greedy. Its own onnxruntime-web (a
 * different version from the app's) loads its wasm from ortUrl. A streamer stamps each token as
 * generate() emits it (put() once with the prompt, then once per new token).
 */
async function setupTransformersJs(o: EngineCompareArgs): Promise<EngineUnderTest> {
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  tf.env.localModelPath = o.modelRoot;
  tf.env.useBrowserCache = false;
  const onnx = tf.env.backends.onnx as { wasm?: { wasmPaths?: unknown; numThreads?: number; proxy?: boolean } };
  if (!onnx.wasm) throw new Error('transformers.js: env.backends.onnx.wasm is missing');
  onnx.wasm.wasmPaths = o.ortUrl;
  onnx.wasm.numThreads = 1;
  const model = await tf.AutoModelForCausalLM.from_pretrained(o.model, {
    device: o.ep,
    dtype: 'fp32',
    ...(o.ep === 'wasm' ? { session_options: { intraOpNumThreads: 1 } as never } : {}),
  });
  const prompt = benchPrompt(o.promptTokens, o.vocab);
  const ids = new tf.Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]);
  const n = o.decodeTokens + 1;
  return {
    impl: 'transformers.js',
    detail: o.ep === 'wasm' ? 'wasm (1 thread)' : 'webgpu (its own device)',
    async generate() {
      const stamps: number[] = [];
      const streamer = { put: () => void stamps.push(now()), end: () => undefined };
      const t0 = now();
      const out = (await model.generate({ input_ids: ids, max_new_tokens: n, min_new_tokens: n, do_sample: false, streamer } as never)) as { data: BigInt64Array };
      if (stamps.length !== n + 1) throw new Error(`transformers.js: the streamer saw ${stamps.length} calls, expected ${n + 1}`);
      // stamps[0] is the prompt's put().
      return { ...tokenTimings(t0, stamps.slice(1)), tokens: Array.from(out.data.slice(prompt.length), Number) };
    },
    async dispose() {
      await model.dispose();
    },
  };
}

/**
 * Ours vs transformers.js in one page: both loaded, warmed up with `warmups` timed generations each (alternating)
 * (WebGPU compiles kernels per shape; on WASM onnxruntime's arena grows the first time a length is
 * reached, and Chromium runs new wasm code unoptimised (Liftoff) until its background compiler has
 * tiered the hot functions up: the first generations after a load decoded 2-4× slower), then `reps`
 * generations of each, alternating which goes first, so each rep of one has a rep of the other beside
 * it (separate pages a few seconds apart let the machine's drift into the ratio).
 */
async function engineCompare(o: EngineCompareArgs): Promise<{ ours: EngineBrowserResult; transformersJs: EngineBrowserResult }> {
  const t0 = now();
  const ours = await setupOurs(o);
  const t1 = now();
  const tjs = await setupTransformersJs(o);
  const t2 = now();
  for (let i = 0; i < o.warmups; i++) for (const e of [ours, tjs]) await e.generate();
  // Let the background compiles the warm-ups started finish (two cores here).
  await new Promise((r) => setTimeout(r, 1000));
  const result = (e: EngineUnderTest, setupMs: number): EngineBrowserResult => ({ ep: o.ep, impl: e.impl, detail: e.detail, promptTokens: o.promptTokens, decodeTokens: o.decodeTokens, reps: o.reps, prefillTokS: [], decodeTokS: [], stepTokS: [], tokens: [], setupMs });
  const res = new Map([[ours, result(ours, t1 - t0)], [tjs, result(tjs, t2 - t1)]]);
  for (let i = 0; i < o.reps; i++) {
    for (const e of i % 2 ? [tjs, ours] : [ours, tjs]) {
      const r = await e.generate();
      const x = res.get(e)!;
      x.prefillTokS.push(o.promptTokens / (r.prefillMs / 1000));
      x.decodeTokS.push(o.decodeTokens / (r.decodeMs / 1000));
      x.stepTokS!.push(1000 / r.stepMs);
      x.tokens = r.tokens;
    }
  }
  await ours.dispose();
  await tjs.dispose();
  return { ours: res.get(ours)!, transformersJs: res.get(tjs)! };
}

(window as unknown as { benchHarness: unknown }).benchHarness = { composer, overhead, decode, engineCompare, extract };
document.body.dataset.ready = 'true';
