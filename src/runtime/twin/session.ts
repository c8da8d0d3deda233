// One loaded bundle on one backend, per message: route (shared model's features → router), compose
// the weights for that routing (a Composer: WGSL on WebGPU, TypeScript on WASM / Node), then generate
// with them. A KV cache is only valid for the weights that made it, so a change of composition drops
// it (the prefix is prefilled again). Everything platform-specific is injected (the engine, the
// composer, how further bundle files are fetched): the browser opens it in browserSession.ts, tests
// open it in Node. The bundle's bytes are not kept after load.
import type { Manifest } from '../../core/bundle/manifest.ts';
import type { LoadedBundle, LoadProgress } from '../bundleLoader.ts';
import { dequantShared, mergeEosIds, readBundle, readModule, readShared, svdRankFor, type ExclusiveModule } from '../../core/twin/index.ts';
import { extractSettings } from '../../core/twin/extract.ts';
import { encodeSafetensors } from '../../core/safetensors/index.ts';
import type { Confidence, RouterModel } from '../../core/router/index.ts';
import { parseModelConfig, type ModelSpec } from '../../model/config.ts';
import { buildDecoderGraph, type DecoderGraph, type DecoderIO } from '../../model/onnx/decoder.ts';
import type { BackendInfo } from '../backendProbe.ts';
import type { Composer } from '../composer/types.ts';
import type { DecoderEngine } from '../engine.ts';
import { streamGenerate } from '../generate.ts';
import type { LiveBuffers } from '../gpuBufferTracker.ts';
import type { ReleasableMatrixProducts } from '../matrixProducts.ts';
import type { OrtModule } from '../ort.ts';
import { routerLayerOf } from '../routerFeatures.ts';
import { RouterPass } from './routerPass.ts';
import { Tokenizer } from '../tokenizer.ts';
import { inspectExpertFiles, type DroppedFileData, type InspectedModule } from './customExpert.ts';
import { extractDroppedCheckpoint } from './droppedCheckpoint.ts';
import { readFullWeights } from './fullWeights.ts';
import { ExpertSet, type RoutingSettings, type SessionExpert } from './expertSet.ts';

export type { RoutingSettings, SessionExpert };

/** Router features of a user's expert's example prompts, and the model they were computed with (TwinSession.featureKey). */
export interface StoredFeatures {
  key: string;
  vectors: Float32Array[];
}

/** Adding an expert, as it goes: a checkpoint's module extracted tensor by tensor, then the example prompts run through the model. */
export type AddProgress =
  | { stage: 'extract'; done: number; total: number; tensor: string; etaMs: number }
  | { stage: 'features'; done: number; total: number };

export interface SamplingSettings {
  temperature: number;
  topK: number;
  topP: number;
  maxNewTokens: number;
  seed: number;
  /** Generation ends before any of these strings (which is left out of the text). */
  stop?: readonly string[];
}

export type VariantSpec = { kind: 'twin' } | { kind: 'expert'; expertId: string } | { kind: 'static' };

export interface TurnResult {
  text: string;
  finishReason: string;
  /** Whether any enabled expert fits the message (Twin-Merging answers of bundles with calibrated thresholds). */
  confidence?: Confidence;
  /** Earlier turns left out so the prompt and the answer fit the model's positions. */
  droppedTurns: number;
  routing: Record<string, number>;
  /** The generated token ids (the text is their decoding): for parity checks across engines. */
  tokenIds: number[];
  timings: { routeMs: number; composeMs: number; firstTokenMs: number; tokensPerSecond: number; promptTokens: number; generatedTokens: number };
}

export type SessionStage = LoadProgress['stage'] | 'upload' | 'session' | 'tokenizer' | 'warmup';
export type SessionProgress = Omit<LoadProgress, 'stage'> & { stage: SessionStage };

/** Bytes the session holds, by purpose. */
export interface SessionMemory {
  shared: number;
  composed: number;
  experts: number;
  /** The routing pass's own float32 weights (WebAssembly memory), 0 when it reads the composer's. */
  router: number;
  kvCache: number;
  /** The composer's own GPU buffers. */
  buffers: number;
  /** Every live buffer on the device (the composer's and onnxruntime's), and their bytes. */
  deviceBuffers: number;
  deviceBytes: number;
}

const now = () => performance.now();

/** What a session reads at load: not the experts' full weights (the compare view fetches them) nor D (a dropped adapter does). */
export function neededAtLoad(f: { path: string }, m: Manifest): boolean {
  return !f.path.endsWith('.full.safetensors') && f.path !== m.shared.baseDelta?.file;
}

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

/** What a session is opened with: the bundle's files and the platform's parts. */
export interface SessionOptions {
  /** The bundle's manifest and files (full fine-tuned weights may be left out: fetched on demand). */
  bundle: LoadedBundle;
  backend: BackendInfo;
  /** float16 where the composer writes half-precision weights (GPUs with shader-f16). */
  weightInputType?: 'float32' | 'float16';
  createComposer: () => Composer;
  /**
   * An engine for the graph on the chat's EP. `use` 'chat': the composed model (on WASM it may keep
   * the weights resident, rebuilt after each composition: engine.ts residentWeights); 'routing': the
   * routing pass reading the composer's buffers (routerPass.ts 'borrow'), whose weights are fed per run.
   */
  createEngine: (spec: ModelSpec, graph: DecoderGraph, use: 'chat' | 'routing') => Promise<{ ort: OrtModule; engine: DecoderEngine }>;
  /** An engine on the CPU (WASM) EP for the routing pass with the shared weights baked in (see routerPass.ts). */
  createRouterEngine?: (spec: ModelSpec, graph: DecoderGraph) => Promise<DecoderEngine>;
  /** One more file of the same bundle, checked against the manifest (e.g. an expert's full weights). */
  fetchFile: (path: string) => Promise<Uint8Array>;
  /**
   * An engine for the randomized SVD's big products when a dropped checkpoint is factored (WGSL on
   * WebGPU, onnxruntime's MatMul on WASM); float64 loops without one. Made per extraction, released after.
   */
  createMatrixProducts?: () => Promise<ReleasableMatrixProducts>;
  onProgress?: (p: SessionProgress) => void;
  device?: GPUDevice;
  liveBuffers?: () => LiveBuffers;
}

interface Parts {
  url: string;
  manifest: Manifest;
  spec: ModelSpec;
  io: DecoderIO;
  backend: BackendInfo;
  ort: OrtModule;
  engine: DecoderEngine;
  composer: Composer;
  router: RouterPass;
  tokenizer: Tokenizer;
  experts: ExpertSet;
  baseDelta: ExclusiveModule;
  eosIds: number[];
  fetchFile: (path: string) => Promise<Uint8Array>;
  createMatrixProducts: (() => Promise<ReleasableMatrixProducts>) | undefined;
  device: GPUDevice | undefined;
  liveBuffers: (() => LiveBuffers) | undefined;
}

export class TwinSession {
  /** Where the bundle was loaded from, and its manifest (the files themselves are not kept). */
  readonly url: string;
  readonly manifest: Manifest;
  readonly spec: ModelSpec;
  readonly io: DecoderIO;
  readonly backend: BackendInfo;
  readonly tokenizer: Tokenizer;
  readonly eosIds: number[];
  private readonly p: Parts;
  private readonly fullCache = new Map<string, Map<string, Float32Array>>();
  /** The expert whose own full weights the composer's outputs hold, until the next compose. */
  private fullWeightsOf: string | undefined;

  private constructor(p: Parts) {
    this.p = p;
    this.url = p.url;
    this.manifest = p.manifest;
    this.spec = p.spec;
    this.io = p.io;
    this.backend = p.backend;
    this.tokenizer = p.tokenizer;
    this.eosIds = p.eosIds;
  }

  static async create(o: SessionOptions): Promise<TwinSession> {
    const { manifest, files } = o.bundle;
    const progress = o.onProgress ?? (() => {});
    const file = (p: string): Uint8Array => {
      const b = files.get(p);
      if (!b) throw new SessionError('BUNDLE', `${p} is missing from the bundle`, p);
      return b;
    };
    const spec = parseModelConfig(manifest.architecture);
    // The bundle's model.onnx has float32 weight inputs; a float16 variant is built here when asked for.
    const weightInputType = o.weightInputType ?? 'float32';
    const built = buildDecoderGraph(spec, { weights: 'inputs', hiddenStateOutput: true, logits: 'last', weightInputType });
    const io = built.io;
    const weights = io.weightInputs;
    const bundle = readBundle(manifest, file, weights, { skipBaseDelta: !!manifest.shared.baseDelta && !files.has(manifest.shared.baseDelta.file) });

    progress({ stage: 'upload', loadedBytes: 0, totalBytes: weights.length });
    const composer = o.createComposer();
    weights.forEach((w, i) => {
      composer.addWeight(w, bundle.shared.get(w.name)!);
      progress({ stage: 'upload', loadedBytes: i + 1, totalBytes: weights.length });
    });
    progress({ stage: 'session', loadedBytes: 0, totalBytes: 0 });
    const graph = { bytes: weightInputType === 'float32' ? file(manifest.graph) : built.bytes, io };
    const { ort, engine } = await o.createEngine(spec, graph, 'chat');

    progress({ stage: 'tokenizer', loadedBytes: 0, totalBytes: 0 });
    const json = (p: string): unknown => {
      try {
        return JSON.parse(new TextDecoder().decode(file(p)));
      } catch (e) {
        throw new SessionError('BUNDLE', `${p} is not valid JSON (${e instanceof Error ? e.message : String(e)})`, p);
      }
    };
    const tokFile = (n: string) => manifest.tokenizer.files.find((f) => f.endsWith(n)) ?? n;
    const tokenizer = Tokenizer.fromJson(json(tokFile('tokenizer.json')), json(tokFile('tokenizer_config.json')));
    // The routing pass: the shared model's first layers, its own session (routerPass.ts).
    const byName = new Map(weights.map((w) => [w.name, w]));
    const router = await RouterPass.create({
      spec,
      layer: routerLayerOf(manifest.router.feature, spec),
      tokenizer,
      sharedWeight: (n) => dequantShared(byName.get(n)!, bundle.shared.get(n)!),
      ...(o.createRouterEngine ? { createOwnEngine: o.createRouterEngine } : {}),
      createBorrowEngine: (spec, graph) => o.createEngine(spec, graph, 'routing'),
      composer,
      weightInputType,
    });
    const eosIds = mergeEosIds(spec.eosTokenIds, files.has('generation_config.json') ? json('generation_config.json') : undefined, [tokenizer.tokenId('<|im_end|>')]);

    const experts = new ExpertSet(
      bundle.router,
      bundle.experts.map(({ entry: e, module }) => ({
        id: e.id,
        name: e.name,
        description: e.description,
        rank: e.rank,
        bytes: e.bytes,
        origin: 'bundle' as const,
        format: 'twinmerge' as const,
        enabled: true,
        examplePrompts: e.examplePrompts,
        fullWeightsFile: e.fullWeightsFile,
        module,
      })),
    );
    const session = new TwinSession({ url: o.bundle.baseUrl, manifest, spec, io, backend: o.backend, ort, engine, composer, router, tokenizer, experts, baseDelta: bundle.baseDelta, eosIds, fetchFile: o.fetchFile, createMatrixProducts: o.createMatrixProducts, device: o.device, liveBuffers: o.liveBuffers });
    composer.setExperts(experts.composerExperts());
    await session.composeFor(new Map());
    engine.setWeights(composer.feeds(ort, io));
    // Compile every kernel the first message needs now, not at the first message (on a software
    // adapter that is 10-15 s): route, compose and generate a short answer to an example prompt.
    progress({ stage: 'warmup', loadedBytes: 0, totalBytes: 0 });
    await session.warmUp();
    const total = manifest.files.filter((f) => files.has(f.path)).reduce((s, f) => s + f.bytes, 0);
    progress({ stage: 'done', loadedBytes: total, totalBytes: total });
    return session;
  }

  /**
   * One routed message with an eight-token answer, then a clean cache: every pipeline the chat uses is
   * compiled, the decode steps' too (on a software adapter a session of its own), with their first
   * cache lengths' buffers (two tokens left the page's first answer measurably slower: docs/benchmarks.md).
   */
  private async warmUp(): Promise<void> {
    const text = this.p.experts.list().find((e) => e.examplePrompts.length)?.examplePrompts[0] ?? 'Hello';
    const settings = { temperature: 0, topK: 0, topP: 1, maxNewTokens: 8, seed: 0, routingTemperature: 1, routingTopK: 0 };
    await this.generate([{ role: 'user', content: text }], settings, { kind: 'twin' }, () => {}, new AbortController().signal);
    this.p.engine.resetCache();
  }

  /** The router as it is now (for checks that removing an expert restores it exactly). */
  routerModel(): RouterModel {
    return this.p.experts.router;
  }

  listExperts(): SessionExpert[] {
    return this.p.experts.list();
  }

  /**
   * Composes for `routing`; returns ms spent (0 when the composer already holds it). The feeds wrap
   * the composer's buffers / arrays, updated in place: only the KV cache has to go.
   */
  private async composeFor(routing: ReadonlyMap<string, number>): Promise<number> {
    const t0 = now();
    if (!(await this.p.composer.compose(routing))) return 0;
    this.fullWeightsOf = undefined;
    this.p.engine.weightsChanged();
    return now() - t0;
  }

  /** Router features of a text: the routing pass on its own weights, or on the composer's after recomposing the shared model. */
  private async features(text: string): Promise<{ x: Float32Array; composeMs: number }> {
    const composeMs = this.p.router.needsSharedComposed ? await this.composeFor(new Map()) : 0;
    return { x: await this.p.router.features(text), composeMs };
  }

  /**
   * The chat in the template, leaving out its oldest exchanges while the prompt and the answer's
   * token budget would not fit the model's positions (the demo model has 256): a long chat keeps
   * working, the model sees its latest turns (the last user message is always kept).
   */
  private chatPrompt(history: readonly { role: 'user' | 'assistant'; content: string }[], maxNewTokens: number): { ids: number[]; droppedTurns: number } {
    const max = this.p.engine.io.maxSequenceLength;
    let turns = history;
    let ids = this.tokenizer.encodeChat([...turns], true);
    while (ids.length + Math.min(maxNewTokens, max / 2) > max && turns.length > 1) {
      turns = turns.slice(turns[1]?.role === 'assistant' ? 2 : 1);
      ids = this.tokenizer.encodeChat([...turns], true);
    }
    return { ids, droppedTurns: history.length - turns.length };
  }

  /** Routing weights for one message over the enabled experts. */
  async route(text: string, s: RoutingSettings): Promise<{ routing: Record<string, number>; routeMs: number; composeMs: number; confidence: Confidence | null }> {
    const t0 = now();
    const { x, composeMs } = await this.features(text);
    const confidence = this.p.experts.confidence(x, this.manifest.router.confidence);
    return { routing: this.p.experts.route(x, s), routeMs: now() - t0 - composeMs, composeMs, confidence };
  }

  async generate(
    history: { role: 'user' | 'assistant'; content: string }[],
    s: SamplingSettings & RoutingSettings,
    variant: VariantSpec,
    onEvent: (e: { type: 'routed'; routing: Record<string, number>; routeMs: number; composeMs: number; confidence?: Confidence } | { type: 'token'; textDelta: string }) => void,
    signal: AbortSignal,
  ): Promise<TurnResult> {
    const t0 = now();
    const last = history.at(-1);
    if (!last || last.role !== 'user') throw new SessionError('BAD_REQUEST', 'the conversation must end with a user message');
    let routing: Record<string, number> = {};
    let routeMs = 0;
    let composeMs = 0;
    let confidence: Confidence | null = null;
    if (variant.kind === 'twin') {
      const r = await this.route(last.content, s);
      routing = r.routing;
      confidence = r.confidence;
      routeMs = r.routeMs;
      composeMs += r.composeMs;
      composeMs += await this.composeFor(new Map(Object.entries(routing)));
    } else if (variant.kind === 'static') {
      composeMs = await this.composeFor(new Map());
    } else {
      const e = this.p.experts.get(variant.expertId);
      // A PEFT expert's own weights are base + adapter = shared − D + s·B·A: its module at weight 1.
      composeMs = !e.fullWeightsFile && e.format === 'peft' ? await this.composeFor(new Map([[e.id, 1]])) : await this.useFullWeights(variant.expertId);
      routing = { [variant.expertId]: 1 };
    }
    // An engine with resident weights (WASM) takes the composed weights in now: part of composing.
    composeMs += await this.p.engine.prepare();
    onEvent({ type: 'routed', routing, routeMs, composeMs, ...(confidence ? { confidence } : {}) });
    const { ids: prompt, droppedTurns } = this.chatPrompt(history, s.maxNewTokens);
    let first = 0;
    let count = 0;
    const gen = streamGenerate(this.p.engine, prompt, {
      maxNewTokens: s.maxNewTokens,
      temperature: s.temperature,
      topK: s.topK,
      topP: s.topP,
      seed: s.seed,
      eosTokenIds: this.eosIds,
      decode: (ids) => this.tokenizer.decode(ids),
      ...(s.stop?.length ? { stopStrings: s.stop } : {}),
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
      ...(confidence ? { confidence } : {}),
      droppedTurns,
      tokenIds: [...result.tokens],
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

  /** The expert's own fine-tuned weights (fetched once, on demand) written over the composed outputs. */
  private async useFullWeights(id: string): Promise<number> {
    const e = this.p.experts.get(id);
    if (!e.fullWeightsFile) throw new SessionError('NO_FULL_WEIGHTS', `the bundle does not ship ${e.name}'s full weights`);
    if (this.fullWeightsOf === id) return 0;
    let full = this.fullCache.get(id);
    if (!full) {
      full = readFullWeights(e.fullWeightsFile, await this.p.fetchFile(e.fullWeightsFile), this.io.weightInputs);
      this.fullCache.set(id, full);
    }
    const t0 = now();
    for (const [name, data] of full) this.p.composer.overwrite(name, data); // the next compose() redoes them
    this.fullWeightsOf = id;
    this.p.engine.weightsChanged();
    return now() - t0;
  }

  async inspect(files: DroppedFileData[]): Promise<InspectedModule> {
    const settings = extractSettings(this.manifest);
    const p = settings.policy;
    // The largest rank the policy can give a matrix (rankPolicy's svdRankFor); a budget's is known only after the SVD: the bundle's largest.
    const matrices = this.io.weightInputs.filter((w) => w.shape.length === 2);
    const checkpointRank = p.kind === 'budget' ? Math.max(...this.manifest.experts.map((e) => e.rank)) : Math.max(0, ...matrices.map((w) => svdRankFor(p, w.shape[0]!, w.shape[1]!)));
    // D (shared − base) is only for a PEFT adapter, and fetched the first time one is dropped.
    const baseDelta = files.some((f) => f.name === 'adapter_config.json') ? await this.baseDelta() : new Map<string, never>();
    return inspectExpertFiles(files, { weights: this.io.weightInputs, baseDelta, model: this.spec, checkpointRank });
  }

  private baseDeltaModule: Promise<ExclusiveModule> | undefined;
  /** D = shared − base as low-rank factors (for PEFT adapters): given at load, or fetched once on first need. */
  private baseDelta(): Promise<ExclusiveModule> {
    const bd = this.manifest.shared.baseDelta;
    if (this.p.baseDelta.size > 0 || !bd) return Promise.resolve(this.p.baseDelta);
    this.baseDeltaModule ??= this.p.fetchFile(bd.file).then(
      (bytes) => readModule(bd.file, bytes, this.io.weightInputs),
      (e: unknown) => {
        this.baseDeltaModule = undefined;
        throw e;
      },
    );
    return this.baseDeltaModule;
  }

  /** A dropped checkpoint's exclusive module, extracted against the bundle's shared weights (fetched again: they are not kept after load). */
  private async extract(id: string, inspected: Extract<InspectedModule, { format: 'checkpoint' }>, meta: { name: string; description: string; examplePrompts: string[] }, onProgress: (p: AddProgress) => void) {
    const weights = this.io.weightInputs;
    const file = this.manifest.shared.file;
    const stored = readShared(file, await this.p.fetchFile(file), weights);
    const byName = new Map(weights.map((w) => [w.name, w]));
    const t0 = now();
    const products = await this.p.createMatrixProducts?.();
    let built;
    try {
      const settings = { ...extractSettings(this.manifest), ...(products ? { products } : {}) };
      built = await extractDroppedCheckpoint(id, inspected.checkpoint, weights, async (name) => dequantShared(byName.get(name)!, stored.get(name)!), settings, (p) => onProgress({ stage: 'extract', ...p }));
    } finally {
      await products?.release();
    }
    // The module as a twinmerge expert file: what the page stores, so a reload re-adds it without extracting again.
    const metadata = { ...built.metadata, name: meta.name, description: meta.description, examples: JSON.stringify(meta.examplePrompts) };
    const moduleFile = { name: `${id}.safetensors`, bytes: encodeSafetensors(built.tensors, metadata) };
    return { module: built.module, rank: built.maxRank, bytes: moduleFile.bytes.length, moduleFile, extractMs: now() - t0 };
  }

  /**
   * Router features depend on the shared model: this key names it (the sha256 of the bundle's shared
   * weights and graph), so features stored with a user's expert are reused only for the same model.
   */
  get featureKey(): string {
    const sha = (path: string) => this.manifest.files.find((f) => f.path === path)?.sha256 ?? '';
    return `${sha(this.manifest.shared.file)}:${sha(this.manifest.graph)}:${this.manifest.router.feature.kind}:${this.p.router.layer}`;
  }

  /**
   * Adds a user's expert: validated module, router extended with its example prompts' features
   * (`features` from an earlier add under the same featureKey are reused: no model run). Progress is
   * reported per example prompt. Nothing changes on error.
   */
  async addExpert(
    input: { id: string; name: string; description: string; examplePrompts: string[]; files: DroppedFileData[]; features?: StoredFeatures },
    onProgress: (p: AddProgress) => void = () => {},
  ): Promise<{ trainMs: number; totalMs: number; features: StoredFeatures; reusedFeatures: boolean; moduleFile?: { name: string; bytes: Uint8Array<ArrayBuffer> }; extractMs: number }> {
    const t0 = now();
    if (this.p.experts.list().some((e) => e.id === input.id)) throw new SessionError('DUPLICATE', `an expert "${input.id}" exists already`);
    if (input.examplePrompts.length < 4) throw new SessionError('BAD_REQUEST', 'give at least 4 example prompts so the router can learn the task');
    const inspected = await this.inspect(input.files);
    const extracted = inspected.format === 'checkpoint' ? await this.extract(input.id, inspected, input, onProgress) : null;
    const module = inspected.format === 'checkpoint' ? extracted!.module : inspected.module;
    const stored = input.features;
    const reusable = !!stored && stored.key === this.featureKey && stored.vectors.length === input.examplePrompts.length && stored.vectors.every((v) => v.length === this.spec.hiddenSize && v.every(Number.isFinite));
    const features: Float32Array[] = reusable ? stored.vectors.map((v) => Float32Array.from(v)) : [];
    const total = input.examplePrompts.length;
    onProgress({ stage: 'features', done: features.length, total });
    if (!reusable) {
      for (const p of input.examplePrompts) {
        features.push((await this.features(p)).x);
        onProgress({ stage: 'features', done: features.length, total });
      }
    }
    const add = this.p.experts.prepareAdd(
      { id: input.id, name: input.name, description: input.description, rank: extracted?.rank ?? inspected.rank, bytes: extracted?.bytes ?? inspected.bytes, origin: 'custom', format: inspected.format, enabled: true, examplePrompts: input.examplePrompts, fullWeightsFile: undefined, module },
      features,
    );
    this.p.composer.setExperts(this.p.experts.composerExperts(add.experts)); // validates shapes before anything else changes
    add.commit();
    return { trainMs: add.trainMs, totalMs: now() - t0, features: { key: this.featureKey, vectors: features }, reusedFeatures: reusable, extractMs: extracted?.extractMs ?? 0, ...(extracted ? { moduleFile: extracted.moduleFile } : {}) };
  }

  /** Removes a user's expert and restores the router it had before. */
  removeExpert(id: string): void {
    const remove = this.p.experts.prepareRemove(id);
    this.p.composer.setExperts(this.p.experts.composerExperts(remove.experts));
    remove.commit();
  }

  setEnabled(id: string, enabled: boolean): void {
    this.p.experts.setEnabled(id, enabled);
  }

  memory(): SessionMemory {
    const m = this.p.composer.memory();
    const kv = this.p.engine.cachedTokens.length * this.spec.numLayers * 2 * this.spec.numKvHeads * this.spec.headDim * 4;
    const live = this.p.liveBuffers?.() ?? { count: 0, bytes: 0 };
    return { shared: m.shared, composed: m.composed, experts: m.experts, router: this.p.router.bytes, kvCache: kv, buffers: m.buffers, deviceBuffers: live.count, deviceBytes: live.bytes };
  }

  async dispose(): Promise<void> {
    await this.p.engine.dispose();
    await this.p.router.dispose();
    this.p.composer.destroy();
    this.p.device?.destroy();
  }

  get gpuDevice(): GPUDevice | undefined {
    return this.p.device;
  }
}
