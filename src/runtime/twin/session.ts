// The Twin-Merging session that runs in the worker: one loaded bundle on one backend.
// Per message: route (shared model's features → router), compose the weights for that routing
// (WGSL on WebGPU, TypeScript on WASM), then generate with them. A KV cache is only valid for the
// weights that made it, so a change of composition drops it (the prefix is prefilled again).
import type { ExclusiveEntry } from '../../core/merge/exclusive.ts';
import { extendRouter, routeWeights, topK, type RouterModel } from '../../core/router/index.ts';
import { parseModelConfig, type ModelSpec } from '../../model/config.ts';
import { buildDecoderGraph, type DecoderIO } from '../../model/onnx/decoder.ts';
import { probeBackend, type BackendInfo, type BackendPreference } from '../backendProbe.ts';
import { trackBuffers, type LiveBuffers } from '../gpuBufferTracker.ts';
import { createBrowserEngine, createWebGpuDevice } from '../browser.ts';
import { loadBundle, type LoadedBundle, type LoadProgress } from '../bundleLoader.ts';
import { CpuComposer } from '../composer/cpuComposer.ts';
import { GpuComposer } from '../composer/gpuComposer.ts';
import type { ExpertModule } from '../composer/types.ts';
import type { DecoderEngine } from '../engine.ts';
import { streamGenerate } from '../generate.ts';
import type { OrtModule, OrtTensor } from '../ort.ts';
import { routerFeatures } from '../routerFeatures.ts';
import { Tokenizer } from '../tokenizer.ts';
import { readFullWeights, readModuleFile, readRouter, sharedWeights, toExpertModule, type BundleRouter } from './bundleModel.ts';
import { inspectExpertFiles, type DroppedFileData, type InspectedModule } from './customExpert.ts';

export interface SessionExpert {
  id: string;
  name: string;
  description: string;
  rank: number;
  bytes: number;
  origin: 'bundle' | 'custom';
  format: 'twinmerge' | 'peft';
  enabled: boolean;
  examplePrompts: string[];
  fullWeightsFile: string | undefined;
  module: ExpertModule;
  /** Router class index. */
  cls: number;
}

export interface RoutingSettings {
  routingTemperature: number;
  routingTopK: number;
}

export interface SamplingSettings {
  temperature: number;
  topK: number;
  topP: number;
  maxNewTokens: number;
  seed: number;
}

export type VariantSpec = { kind: 'twin' } | { kind: 'expert'; expertId: string } | { kind: 'static' };

export interface TurnResult {
  text: string;
  finishReason: string;
  routing: Record<string, number>;
  timings: { routeMs: number; composeMs: number; firstTokenMs: number; tokensPerSecond: number; promptTokens: number; generatedTokens: number };
}

export type SessionStage = LoadProgress['stage'] | 'upload' | 'session' | 'tokenizer';
export type SessionProgress = Omit<LoadProgress, 'stage'> & { stage: SessionStage };

type Composer = GpuComposer | CpuComposer;

const now = () => performance.now();

/** Keep a second, shared-only copy of the weights for the router when it costs at most this much. */
const SHARED_COPY_MAX_BYTES = 256 * 1024 * 1024;

export class SessionError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly file?: string,
    readonly tensor?: string,
  ) {
    super(message);
    this.name = 'SessionError';
  }
}

export class TwinSession {
  private experts: SessionExpert[] = [];
  private router: RouterModel;
  /** The bundle's own router and replay set, kept so removing experts restores it exactly. */
  private readonly bundleRouter: RouterModel;
  private readonly bundleReplay: BundleRouter['replay'];
  /** Example-prompt features of the user's experts, in the order they were added. */
  private readonly customFeatures = new Map<string, Float32Array[]>();
  private readonly replay: BundleRouter['replay'];
  private readonly fullCache = new Map<string, Map<string, Float32Array>>();
  private liveBuffers: (() => LiveBuffers) | undefined;
  private sharedCopy: Composer | undefined;
  private sharedFeeds: Record<string, OrtTensor> | undefined;
  /** The expert whose own full weights the composer's outputs hold, until the next compose. */
  private fullWeightsOf: string | undefined;
  private constructor(
    readonly url: string,
    readonly bundle: LoadedBundle,
    readonly spec: ModelSpec,
    readonly io: DecoderIO,
    readonly backend: BackendInfo,
    private readonly ort: OrtModule,
    private readonly engine: DecoderEngine,
    private readonly composer: Composer,
    private readonly device: GPUDevice | undefined,
    readonly tokenizer: Tokenizer,
    router: BundleRouter,
    private readonly baseDelta: Map<string, ExclusiveEntry>,
    readonly eosIds: number[],
  ) {
    this.router = router.model;
    this.bundleRouter = router.model;
    this.bundleReplay = { features: [...router.replay.features], labels: [...router.replay.labels] };
    this.replay = router.replay;
  }

  static async open(url: string, preference: BackendPreference, onProgress: (p: SessionProgress) => void): Promise<TwinSession> {
    const probed = await probeBackend(preference);
    // Full fine-tuned weights are fetched on demand (compare view), not at load.
    const bundle = await loadBundle(url, { onProgress, only: (f) => !f.path.endsWith('.full.safetensors') });
    const { manifest, files } = bundle;
    const file = (p: string) => {
      const b = files.get(p);
      if (!b) throw new SessionError('BUNDLE', `${p} is missing from the bundle`, p);
      return b;
    };
    const spec = parseModelConfig(manifest.architecture);

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
    // weight inputs are float16 (built here; the bundle's model.onnx has float32 inputs).
    const weightInputType = device && f16 ? 'float16' : 'float32';
    const built = buildDecoderGraph(spec, { weights: 'inputs', hiddenStateOutput: true, logits: 'last', weightInputType });
    const graphIo = built.io;
    const weights = graphIo.weightInputs;
    onProgress({ stage: 'upload', loadedBytes: 0, totalBytes: weights.length });
    const shared = sharedWeights(manifest.shared.file, file(manifest.shared.file), weights);

    let composer: Composer;
    let liveBuffers: (() => LiveBuffers) | undefined;
    if (device) {
      liveBuffers = trackBuffers(device);
      // Software adapters (SwiftShader) pay dearly for workgroup barriers: use the flat kernel there.
      const kernel = probed.kind === 'webgpu' && probed.isSoftware ? 'flat' : 'tiled';
      const gpu = new GpuComposer(device, kernel, weightInputType === 'float16' ? 'f16' : 'f32');
      shared.forEach((w, i) => {
        gpu.addWeight(w);
        onProgress({ stage: 'upload', loadedBytes: i + 1, totalBytes: weights.length });
      });
      composer = gpu;
    } else {
      const cpu = new CpuComposer();
      shared.forEach((w) => cpu.addWeight(w));
      composer = cpu;
    }

    const baseDelta = manifest.shared.baseDelta ? readModuleFile(manifest.shared.baseDelta.file, file(manifest.shared.baseDelta.file), weights).entries : new Map<string, ExclusiveEntry>();
    const router = readRouter(manifest.router.file, file(manifest.router.file), manifest);

    onProgress({ stage: 'session', loadedBytes: 0, totalBytes: 0 });
    const graph = { bytes: weightInputType === 'float32' ? file(manifest.graph) : built.bytes, io: graphIo };
    const wasmPaths = new URL('/ort/', self.location.href).href;
    const { ort, engine } = await createBrowserEngine(spec, graph, device ? { kind: 'webgpu', device } : { kind: 'wasm', threads: backend.kind === 'wasm' ? backend.threads : 1 }, { wasmPaths });

    onProgress({ stage: 'tokenizer', loadedBytes: 0, totalBytes: 0 });
    const json = (p: string): unknown => {
      try {
        return JSON.parse(new TextDecoder().decode(file(p)));
      } catch (e) {
        throw new SessionError('BUNDLE', `${p} is not valid JSON (${e instanceof Error ? e.message : String(e)})`, p);
      }
    };
    const tokFile = (n: string) => manifest.tokenizer.files.find((f) => f.endsWith(n)) ?? n;
    const tokenizer = Tokenizer.fromJson(json(tokFile('tokenizer.json')), json(tokFile('tokenizer_config.json')));
    const gen = files.get('generation_config.json');
    const genEos = gen ? ((JSON.parse(new TextDecoder().decode(gen)) as { eos_token_id?: number | number[] }).eos_token_id ?? []) : [];
    const imEnd = tokenizer.tokenId('<|im_end|>');
    const eosIds = [...new Set([...spec.eosTokenIds, ...(Array.isArray(genEos) ? genEos : [genEos]), ...(imEnd !== undefined ? [imEnd] : [])])];

    const session = new TwinSession(url, bundle, spec, graphIo, backend, ort, engine, composer, device, tokenizer, router, baseDelta, eosIds);
    session.liveBuffers = liveBuffers;
    // The router reads the shared model. When a second copy of the weights is affordable, keep one
    // composed once with no experts, so routing never recomposes (and the chat's KV cache survives a
    // message routed like the previous one).
    const sharedBytes = weights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * 4, 0);
    if (sharedBytes <= SHARED_COPY_MAX_BYTES) {
      const copy = composer instanceof GpuComposer ? new GpuComposer(composer.device, composer.kernel, composer.outputType) : new CpuComposer();
      for (const w of shared) copy.addWeight(w);
      await copy.compose(new Map());
      session.sharedCopy = copy;
      session.sharedFeeds = session.feedsOf(copy);
    }
    session.experts = manifest.experts.map((e) => {
      const { entries } = readModuleFile(e.file, file(e.file), weights);
      return {
        id: e.id,
        name: e.name,
        description: e.description,
        rank: e.rank,
        bytes: e.bytes,
        origin: 'bundle',
        format: 'twinmerge',
        enabled: true,
        examplePrompts: e.examplePrompts,
        fullWeightsFile: e.fullWeightsFile,
        module: toExpertModule(e.id, entries, weights),
        cls: router.labels.indexOf(e.id),
      } satisfies SessionExpert;
    });
    composer.setExperts(session.experts.map((e) => e.module));
    await session.composeFor(new Map());
    session.engine.setWeights(session.feeds());
    onProgress({ stage: 'done', loadedBytes: bundle.manifest.files.reduce((s, f) => s + f.bytes, 0), totalBytes: bundle.manifest.files.reduce((s, f) => s + f.bytes, 0) });
    return session;
  }

  /** The router as it is now (for checks that removing an expert restores it exactly). */
  routerModel(): RouterModel {
    return this.router;
  }

  listExperts(): SessionExpert[] {
    return [...this.experts];
  }

  /** Graph feeds for the composer's current outputs. GPU buffers are fed as they are (ORT reads them in place). */
  private feeds(): Record<string, OrtTensor> {
    return this.feedsOf(this.composer);
  }

  private feedsOf(c: Composer): Record<string, OrtTensor> {
    const out: Record<string, OrtTensor> = {};
    for (const w of this.io.weightInputs) {
      if (c instanceof GpuComposer) out[w.name] = this.ort.Tensor.fromGpuBuffer(c.output(w.name), { dataType: this.io.weightInputType, dims: w.graphShape });
      else out[w.name] = new this.ort.Tensor('float32', c.output(w.name), w.graphShape);
    }
    return out;
  }

  /**
   * Composes for `routing`; returns ms spent (0 when the composer already holds it). The feeds wrap
   * the composer's buffers / arrays, updated in place: only the KV cache has to go.
   */
  private async composeFor(routing: ReadonlyMap<string, number>): Promise<number> {
    const t0 = now();
    if (!(await this.composer.compose(routing))) return 0;
    this.fullWeightsOf = undefined;
    this.engine.resetCache();
    return now() - t0;
  }

  /** Routing weights for one message over the enabled experts. */
  async route(text: string, s: RoutingSettings): Promise<{ routing: Record<string, number>; routeMs: number; composeMs: number }> {
    // The router reads the SHARED model: its own copy when there is one, else recompose.
    const composeMs = this.sharedFeeds ? 0 : await this.composeFor(new Map());
    const t0 = now();
    const x = await routerFeatures(this.engine, this.tokenizer, text, this.sharedFeeds);
    const p = routeWeights(this.router, x, { temperature: s.routingTemperature });
    const enabled = this.experts.filter((e) => e.enabled);
    let w: ArrayLike<number> = enabled.map((e) => p[e.cls] ?? 0);
    if (s.routingTopK > 0 && enabled.length > 0) w = topK(w, s.routingTopK);
    const sum = Array.from(w).reduce((a, b) => a + b, 0);
    const routing: Record<string, number> = {};
    enabled.forEach((e, i) => (routing[e.id] = sum > 0 ? w[i]! / sum : 0));
    return { routing, routeMs: now() - t0, composeMs };
  }

  async generate(
    history: { role: 'user' | 'assistant'; content: string }[],
    s: SamplingSettings & RoutingSettings,
    variant: VariantSpec,
    onEvent: (e: { type: 'routed'; routing: Record<string, number>; routeMs: number; composeMs: number } | { type: 'token'; textDelta: string }) => void,
    signal: AbortSignal,
  ): Promise<TurnResult> {
    const t0 = now();
    const last = history.at(-1);
    if (!last || last.role !== 'user') throw new SessionError('BAD_REQUEST', 'the conversation must end with a user message');
    let routing: Record<string, number> = {};
    let routeMs = 0;
    let composeMs = 0;
    if (variant.kind === 'twin') {
      const r = await this.route(last.content, s);
      routing = r.routing;
      routeMs = r.routeMs;
      composeMs += r.composeMs;
      composeMs += await this.composeFor(new Map(Object.entries(routing)));
    } else if (variant.kind === 'static') {
      composeMs = await this.composeFor(new Map());
    } else {
      composeMs = await this.useFullWeights(variant.expertId);
      routing = { [variant.expertId]: 1 };
    }
    onEvent({ type: 'routed', routing, routeMs, composeMs });
    const prompt = this.tokenizer.encodeChat(history, true);
    let first = 0;
    let count = 0;
    const gen = streamGenerate(this.engine, prompt, {
      maxNewTokens: s.maxNewTokens,
      temperature: s.temperature,
      topK: s.topK,
      topP: s.topP,
      seed: s.seed,
      eosTokenIds: this.eosIds,
      decode: (ids) => this.tokenizer.decode(ids),
      signal,
    });
    let result;
    for (;;) {
      const r = await gen.next();
      if (r.done) {
        result = r.value;
        break;
      }
      if (r.value.token >= 0) {
        count++;
        if (count === 1) first = now() - t0;
      }
      if (r.value.textDelta) onEvent({ type: 'token', textDelta: r.value.textDelta });
    }
    return {
      text: result.text,
      finishReason: result.finishReason,
      routing,
      timings: {
        routeMs,
        composeMs,
        firstTokenMs: first || now() - t0,
        tokensPerSecond: result.decodeMs > 0 ? (Math.max(0, result.tokens.length - 1) * 1000) / result.decodeMs : 0,
        promptTokens: prompt.length,
        generatedTokens: result.tokens.length,
      },
    };
  }

  /** The expert's own fine-tuned weights (fetched once, on demand) written over the composed buffers. */
  private async useFullWeights(id: string): Promise<number> {
    const e = this.experts.find((x) => x.id === id);
    if (!e) throw new SessionError('UNKNOWN_EXPERT', `no expert "${id}"`);
    if (!e.fullWeightsFile) throw new SessionError('NO_FULL_WEIGHTS', `the bundle does not ship ${e.name}'s full weights`);
    if (this.fullWeightsOf === id) return 0;
    let full = this.fullCache.get(id);
    if (!full) {
      const path = e.fullWeightsFile;
      const loaded = await loadBundle(this.url, { only: (f) => f.path === path });
      const bytes = loaded.files.get(path);
      if (!bytes) throw new SessionError('BUNDLE', `${path} is not listed in the bundle manifest`, path);
      full = readFullWeights(path, bytes, this.io.weightInputs);
      this.fullCache.set(id, full);
    }
    const t0 = now();
    for (const [name, data] of full) this.composer.overwrite(name, data); // the next compose() redoes them
    this.fullWeightsOf = id;
    this.engine.resetCache();
    return now() - t0;
  }

  inspect(files: DroppedFileData[]): InspectedModule {
    return inspectExpertFiles(files, this.io.weightInputs, this.baseDelta);
  }

  /** Adds a user's expert: validated module, router extended with its example prompts' features. Nothing changes on error. */
  async addExpert(input: { id: string; name: string; description: string; examplePrompts: string[]; files: DroppedFileData[] }): Promise<{ trainMs: number }> {
    if (this.experts.some((e) => e.id === input.id)) throw new SessionError('DUPLICATE', `an expert "${input.id}" exists already`);
    if (input.examplePrompts.length < 4) throw new SessionError('BAD_REQUEST', 'give at least 4 example prompts so the router can learn the task');
    const inspected = this.inspect(input.files);
    const module = inspected.toModule(input.id);
    const features: Float32Array[] = [];
    if (!this.sharedFeeds) await this.composeFor(new Map());
    for (const p of input.examplePrompts) features.push(await routerFeatures(this.engine, this.tokenizer, p, this.sharedFeeds));
    const t0 = now();
    const trained = extendRouter(this.router, this.replay, features);
    const trainMs = now() - t0;
    const expert: SessionExpert = {
      id: input.id,
      name: input.name,
      description: input.description,
      rank: inspected.rank,
      bytes: inspected.bytes,
      origin: 'custom',
      format: inspected.format,
      enabled: true,
      examplePrompts: input.examplePrompts,
      fullWeightsFile: undefined,
      module,
      cls: this.router.numClasses,
    };
    const next = [...this.experts, expert];
    this.composer.setExperts(next.map((e) => e.module)); // validates shapes before anything else changes
    this.experts = next;
    this.router = trained.model;
    this.replay.features.push(...features);
    this.replay.labels.push(...features.map(() => expert.cls));
    this.customFeatures.set(expert.id, features);
    return { trainMs };
  }

  /** Removes a user's expert and restores the router it had before. */
  removeExpert(id: string): void {
    const e = this.experts.find((x) => x.id === id);
    if (!e) throw new SessionError('UNKNOWN_EXPERT', `no expert "${id}"`);
    if (e.origin === 'bundle') throw new SessionError('BAD_REQUEST', `${e.name} is part of the bundle; disable it instead`);
    const next = this.experts.filter((x) => x.id !== id);
    this.composer.setExperts(next.map((x) => x.module));
    this.experts = next;
    // The router it had before: the bundle's, extended again with the remaining user experts in the
    // order they were added (extension is deterministic, so this is exactly the earlier router).
    this.customFeatures.delete(id);
    let router = this.bundleRouter;
    const replay = { features: [...this.bundleReplay.features], labels: [...this.bundleReplay.labels] };
    for (const x of this.experts.filter((x) => x.origin === 'custom')) {
      const f = this.customFeatures.get(x.id)!;
      router = extendRouter(router, replay, f).model;
      replay.features.push(...f);
      replay.labels.push(...f.map(() => router.numClasses - 1));
    }
    this.router = router;
    this.replay.features.splice(0, this.replay.features.length, ...replay.features);
    this.replay.labels.splice(0, this.replay.labels.length, ...replay.labels);
    for (const x of this.experts) if (x.cls > e.cls) x.cls--;
  }

  setEnabled(id: string, enabled: boolean): void {
    const e = this.experts.find((x) => x.id === id);
    if (!e) throw new SessionError('UNKNOWN_EXPERT', `no expert "${id}"`);
    e.enabled = enabled;
  }

  memory(): { shared: number; composed: number; experts: number; kvCache: number; buffers: number; deviceBuffers: number; deviceBytes: number } {
    const m = { ...this.composer.memory() };
    const copy = this.sharedCopy?.memory();
    if (copy) {
      m.shared += copy.shared;
      m.composed += copy.composed;
      m.buffers += copy.buffers;
    }
    const kv = this.engine.cachedTokens.length * this.spec.numLayers * 2 * this.spec.numKvHeads * this.spec.headDim * 4;
    const live = this.liveBuffers?.() ?? { count: 0, bytes: 0 };
    return { shared: m.shared, composed: m.composed, experts: m.experts, kvCache: kv, buffers: m.buffers, deviceBuffers: live.count, deviceBytes: live.bytes };
  }

  async dispose(): Promise<void> {
    await this.engine.dispose();
    if (this.composer instanceof GpuComposer) this.composer.destroy();
    if (this.sharedCopy instanceof GpuComposer) this.sharedCopy.destroy();
    this.device?.destroy();
  }

  get gpuDevice(): GPUDevice | undefined {
    return this.device;
  }
}
