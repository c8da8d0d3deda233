// The public API: a twinmerge engine running in a Web Worker, with WebLLM's and OpenAI's convention
// for chat (`engine.chat.completions.create`) plus what is twinmerge's own: the experts, the compare
// view's three answers, routing. The React app uses exactly this object (src/ui/useEngine.ts); the
// library build exports it (src/api/index.ts); docs/api.md documents it.
import { DEFAULT_SETTINGS, type AddProgress, type BackendInfo, type BackendPreference, type BundleCheckInfo, type BundleInfo, type DroppedFile, type EngineLoadProgress, type ExpertInfo, type GenerationSettings, type InspectedExpert, type MemoryReport, type RouterParameters } from '../worker/protocol.ts';
import { ApiError, toApiError } from './apiError.ts';
import { EXPERT_MODEL_PREFIX, parseChatRequest, STATIC_MODEL, TWIN_MODEL, type ChatCompletionRequest, type EngineRequest } from './chatRequest.ts';
import { chunkOf, completionOf, finishReason, newAnswerHead, resultExtension, usageChunkOf, type ChatCompletion, type ChatCompletionChunk } from './chatResponse.ts';
import { EngineClient, EngineError, type CompareStep, type ExpertsChange, type NewExpert } from './engineClient.ts';

// The library build (vite.lib.config.ts) ships onnxruntime-web's wasm in ort/ beside twinmerge.js;
// the app serves it at the site's /ort/ (the worker's default when none is given).
const LIBRARY_WASM_PATHS: string | undefined = import.meta.env?.TWINMERGE_LIB ? new URL('ort/', String(import.meta.url)).href : undefined;

export interface EngineNotice {
  level: 'info' | 'warning';
  message: string;
  /** Set when the engine was rebuilt on another backend (a lost GPU device). */
  backend?: BackendInfo;
}

export interface StartOptions {
  /** A worker running the engine (src/worker/); one is started when left out. */
  worker?: Worker;
}

export interface LoadOptions {
  /** 'auto' (default): WebGPU where the adapter can run the model, WASM otherwise. */
  backend?: BackendPreference;
  /** Download and setup stages, with bytes where there are bytes. */
  onProgress?: (p: EngineLoadProgress) => void;
  /**
   * The folder that serves onnxruntime-web's wasm binary (`ort-wasm-simd-threaded.asyncify.wasm`),
   * relative to the page or absolute. Default: ort/ beside the library's twinmerge.js (the app: the site's /ort/).
   */
  wasmPaths?: string;
  /** Also fetch the bundle's base delta now (else when the first PEFT adapter is added): set it when restoring stored adapters right after the load. */
  withBaseDelta?: boolean;
}

export interface CreateEngineOptions extends StartOptions, LoadOptions {
  /** URL of a bundle folder (the one holding manifest.json), absolute or relative to the page. */
  bundle: string;
}

export interface RequestOptions {
  /** Aborting ends the answer early: finish_reason 'abort', with the text so far. */
  signal?: AbortSignal;
}

export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: 'twinmerge';
  /** What answers under this id. */
  description: string;
}

type CreateCompletion = {
  (request: ChatCompletionRequest & { stream: true }, options?: RequestOptions): Promise<AsyncIterable<ChatCompletionChunk>>;
  (request: ChatCompletionRequest & { stream?: false | null }, options?: RequestOptions): Promise<ChatCompletion>;
  (request: ChatCompletionRequest, options?: RequestOptions): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
};

/** Starts the worker and loads a bundle; the engine is ready to answer when the promise resolves. */
export async function createEngine(options: CreateEngineOptions): Promise<TwinmergeEngine> {
  const engine = TwinmergeEngine.start(options);
  try {
    await engine.load(options.bundle, options);
  } catch (e) {
    engine.unload();
    throw e;
  }
  return engine;
}

export class TwinmergeEngine {
  private readonly client: EngineClient;
  private loaded: BundleInfo | null = null;
  private list: ExpertInfo[] = [];
  private currentBackend: BackendInfo | null = null;
  private readonly running = new Set<AbortController>();
  private unloaded = false;
  /** Messages the engine sends on its own: a lost GPU device, the engine rebuilt on another backend. */
  onNotice: ((n: EngineNotice) => void) | undefined;

  /** OpenAI's chat completions: an OpenAI-shaped answer, or with `stream: true` an async iterable of chunks. */
  readonly chat: { completions: { create: CreateCompletion } } = {
    completions: { create: ((request: ChatCompletionRequest, options?: RequestOptions) => this.createCompletion(request, options)) as CreateCompletion },
  };

  /** The ids `model` may name, as OpenAI's models.list answers. */
  readonly models = {
    list: async (): Promise<{ object: 'list'; data: ModelCard[] }> => {
      const created = Math.floor(Date.now() / 1000);
      const card = (id: string, description: string): ModelCard => ({ id, object: 'model', created, owned_by: 'twinmerge', description });
      return {
        object: 'list',
        data: [
          card(TWIN_MODEL, 'Twin-Merging: the shared model plus the routed experts’ exclusive modules, composed for each message'),
          card(STATIC_MODEL, 'the shared merged model alone (a static merge)'),
          ...this.list.filter((e) => e.hasFullWeights).map((e) => card(`${EXPERT_MODEL_PREFIX}${e.id}`, `${e.name}: the fine-tuned expert’s own weights`)),
        ],
      };
    },
  };

  /** The bundle's experts and the user's own; each change answers with the whole list. */
  readonly experts = {
    list: (): ExpertInfo[] => [...this.list],
    /** What dropped files are, checked against the bundle's shapes; throws naming the file (and tensor) when they do not fit. */
    inspect: (files: DroppedFile[]): Promise<InspectedExpert> => this.client.inspect(files),
    /**
     * Adds an expert (a twinmerge module, a PEFT adapter, or a fully fine-tuned checkpoint whose
     * module is extracted here) and extends the router from its example prompts.
     */
    add: async (e: NewExpert, opts: { onProgress?: (p: AddProgress) => void } = {}) => this.track(await this.client.experts.add(e, opts)),
    remove: async (expertId: string): Promise<ExpertsChange> => this.track(await this.client.experts.remove(expertId)),
    setEnabled: async (expertId: string, enabled: boolean): Promise<ExpertsChange> => this.track(await this.client.experts.setEnabled(expertId, enabled)),
  };

  /** Requests for tests and troubleshooting. */
  readonly diagnostics: { routerParameters: () => Promise<RouterParameters>; simulateDeviceLoss: () => Promise<void> };

  private constructor(client: EngineClient) {
    this.client = client;
    this.diagnostics = client.diagnostics;
    client.onNotice = (n) => {
      if (n.backend) this.currentBackend = n.backend;
      this.onNotice?.({ level: n.level, message: n.message, ...(n.backend ? { backend: n.backend } : {}) });
    };
  }

  /** The worker, running, with no bundle yet (load one with `load`); createEngine does both. */
  static start(options: StartOptions = {}): TwinmergeEngine {
    return new TwinmergeEngine(options.worker ? new EngineClient(options.worker) : EngineClient.create());
  }

  /** The loaded bundle (null before load). */
  get bundle(): BundleInfo | null {
    return this.loaded;
  }

  /** Where the model runs now (after a device loss, possibly not where it was loaded). */
  get backend(): BackendInfo | null {
    return this.currentBackend;
  }

  /** Which backend `load` would use, answered at once (without waiting behind model work). */
  async probe(preference: BackendPreference = 'auto'): Promise<BackendInfo> {
    return this.client.probe(preference);
  }

  /**
   * What loading `bundle` would take on this device, read from its manifest alone: model, bytes to
   * download, memory estimate, and why it would not fit (null when it does). A missing or broken
   * bundle throws. The loaded bundle is untouched.
   */
  async checkBundle(bundle: string, options: { backend?: BackendPreference } = {}): Promise<BundleCheckInfo> {
    this.alive();
    return this.client.checkBundle(pageUrl(bundle), options.backend ?? 'auto');
  }

  /** Loads a bundle, replacing the loaded one once it is downloaded (and the user's experts: add them again). A bundle that cannot load leaves the loaded one as it was. */
  async load(bundle: string, options: LoadOptions = {}): Promise<BundleInfo> {
    this.alive();
    // The worker resolves URLs against its own script's URL: hand it absolute ones, resolved against the page.
    const wasmPaths = options.wasmPaths ? pageUrl(options.wasmPaths) : LIBRARY_WASM_PATHS;
    const info = await this.client.load(pageUrl(bundle), options.backend ?? 'auto', options.onProgress, { ...(wasmPaths ? { wasmPaths } : {}), ...(options.withBaseDelta ? { withBaseDelta: true } : {}) });
    this.loaded = info;
    this.list = info.experts;
    this.currentBackend = info.backend;
    return info;
  }

  /**
   * One prompt answered three ways, one after the other: Twin-Merging, the fine-tuned expert the
   * router ranked first (when the bundle ships its full weights), and the shared merge alone.
   */
  compare(prompt: string, options: { settings?: Partial<GenerationSettings> } = {}): AsyncGenerator<CompareStep, void, undefined> {
    return this.client.compare(prompt, { ...DEFAULT_SETTINGS, ...options.settings }, this.list);
  }

  /** The router's weights for one message over the enabled experts, without generating. */
  route(text: string, settings: Partial<GenerationSettings> = {}): Promise<{ routing: Record<string, number>; routeMs: number }> {
    return this.client.route(text, { ...DEFAULT_SETTINGS, ...settings });
  }

  /** The engine's memory now: shared weights, experts, composed weights, KV cache, device buffers. */
  memory(): Promise<MemoryReport> {
    return this.client.memory();
  }

  /** Ends every answer in progress (each ends with finish_reason 'abort' and its text so far). */
  abort(): void {
    for (const ac of this.running) ac.abort();
  }

  /** Stops the worker and frees its memory; the engine answers nothing after this. */
  unload(): void {
    this.unloaded = true;
    this.abort();
    this.client.dispose();
  }

  private alive(): void {
    if (this.unloaded) throw new ApiError(503, 'server_error', 'The engine was unloaded: create a new one.', { code: 'UNLOADED' });
  }

  private track<T extends ExpertsChange>(change: T): T {
    this.list = change.experts;
    return change;
  }

  private async createCompletion(request: ChatCompletionRequest, options: RequestOptions = {}): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    this.alive();
    const r = parseChatRequest(request);
    if (!this.loaded) throw new ApiError(503, 'server_error', 'No bundle is loaded yet: wait for load() (or createEngine) to finish.', { code: 'NOT_READY' });
    if (r.variant.kind === 'expert') {
      const id = r.variant.expertId;
      const e = this.list.find((x) => x.id === id);
      if (!e?.hasFullWeights) {
        const why = e ? `the bundle does not ship ${e.name}'s full weights` : `there is no expert '${id}'`;
        throw new ApiError(404, 'invalid_request_error', `The model '${r.model}' does not exist: ${why} (engine.models.list())`, { param: 'model', code: 'model_not_found' });
      }
    }
    const fingerprint = `twinmerge:${this.loaded.name}`;
    if (r.stream) return this.stream(r, fingerprint, options.signal);
    const head = newAnswerHead(r.model, fingerprint);
    const ac = this.linked(options.signal);
    try {
      return completionOf(head, await this.client.answer(r.history, r.settings, r.variant, { signal: ac.signal }));
    } catch (e) {
      throw toApiError(e);
    } finally {
      this.running.delete(ac);
    }
  }

  private async *stream(r: EngineRequest, fingerprint: string, signal: AbortSignal | undefined): AsyncGenerator<ChatCompletionChunk, void, undefined> {
    const head = newAnswerHead(r.model, fingerprint);
    const ac = this.linked(signal);
    try {
      for await (const e of this.client.generate(r.history, r.settings, r.variant, { signal: ac.signal })) {
        if (e.type === 'routed') yield chunkOf(head, { role: 'assistant', content: '' }, null, { routing: e.routing, routeMs: e.routeMs, composeMs: e.composeMs, ...(e.confidence ? { confidence: e.confidence } : {}) });
        else if (e.type === 'token') yield chunkOf(head, { content: e.textDelta }, null);
        else {
          const d = e.result;
          yield chunkOf(head, {}, finishReason(d.finishReason), resultExtension(d));
          if (r.includeUsage) yield usageChunkOf(head, d.timings);
        }
      }
    } catch (e) {
      throw toApiError(e);
    } finally {
      this.running.delete(ac);
    }
  }

  /** A controller that `abort()` and the caller's signal both end. */
  private linked(signal: AbortSignal | undefined): AbortController {
    const ac = new AbortController();
    if (signal?.aborted) ac.abort();
    else signal?.addEventListener('abort', () => ac.abort(), { once: true });
    this.running.add(ac);
    return ac;
  }
}

/** `url` resolved against the page's URL (as written in the page: './bundle' means next to the page). */
function pageUrl(url: string): string {
  const base = typeof document !== 'undefined' ? document.baseURI : globalThis.location?.href;
  return base ? new URL(url, base).href : url;
}

export { EngineError };
