// The one way to the engine worker: a typed transport over the messages of protocol.ts (load,
// generate, compare, experts.*, inspect, memory, diagnostics.*). Only this file builds protocol
// messages and talks to the Worker; the public API (engine.ts: createEngine, chat.completions) and
// through it the React app sit on top.
import {
  FINAL_TYPES,
  type AddedExpert,
  type AddProgress,
  type BackendInfo,
  type BackendPreference,
  type BundleCheckInfo,
  type BundleInfo,
  type ChatTurn,
  type Confidence,
  type DroppedFile,
  type EngineLoadProgress,
  type ExpertInfo,
  type FinalFor,
  type GenerationDone,
  type GenerationSettings,
  type InspectedExpert,
  type LoadExtras,
  type MemoryReport,
  type RouterParameters,
  type StoredFeatures,
  type Variant,
  type WorkerError,
  type WorkerEvent,
  type WorkerNotice,
  type WorkerRequestBody,
  type WorkerResponse,
} from '../worker/protocol.ts';

export class EngineError extends Error {
  readonly code: string;
  readonly file: string | undefined;
  readonly tensor: string | undefined;
  constructor(e: WorkerError) {
    super(e.message);
    this.name = 'EngineError';
    this.code = e.code;
    this.file = e.file;
    this.tensor = e.tensor;
  }
}

/** What one generation streams: the routing it used, the text as it comes, and last the whole answer. */
export type GenerateEvent =
  | { type: 'routed'; routing: Record<string, number>; routeMs: number; composeMs: number; confidence?: Confidence }
  | { type: 'token'; textDelta: string }
  | { type: 'done'; result: GenerationDone };

export interface GenerateOptions {
  /**
   * Aborting asks the worker to stop: the stream still ends with `done`, whose result has
   * finishReason 'aborted' and the text so far. Leaving the loop early stops the worker too.
   */
  signal?: AbortSignal;
}

/** The expert list after a change, and how long the router took to learn (0 unless an expert was added). */
export interface ExpertsChange {
  experts: ExpertInfo[];
  trainMs: number;
}

export interface NewExpert {
  id: string;
  name: string;
  description: string;
  examplePrompts: string[];
  files: DroppedFile[];
  /** Features stored from an earlier add (a reload): no model run when they still fit. */
  features?: StoredFeatures;
}

/**
 * One column of the compare view as it becomes ready: the per-message merge, the fine-tuned expert
 * the router ranked first (with its own weights), and the shared merge alone.
 */
export type CompareStep =
  | { column: 'twin'; result: GenerationDone }
  | { column: 'expert'; expertId: string; result: GenerationDone }
  /** No expert answer: none was routed, or the bundle does not ship the top expert's full weights. */
  | { column: 'expert'; expertId: string | null; skipped: 'none-routed' | 'no-full-weights' }
  | { column: 'static'; result: GenerationDone };

interface Pending {
  resolve: (r: WorkerResponse) => void;
  reject: (e: Error) => void;
  onEvent: ((e: WorkerEvent) => void) | undefined;
}

export class EngineClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Messages the worker sends on its own (device lost, engine restarted). */
  onNotice: ((n: WorkerNotice) => void) | undefined;

  /** The user's experts and the bundle's: each change answers with the whole list. */
  readonly experts = {
    /** Adds an expert; `onProgress` sees a checkpoint's module extracted, then the example prompts run through the model (none when stored features are reused). */
    add: (e: NewExpert, opts: { onProgress?: (p: AddProgress) => void } = {}): Promise<ExpertsChange & { added: AddedExpert }> =>
      this.request({ type: 'add-expert', expertId: e.id, name: e.name, description: e.description, examplePrompts: e.examplePrompts, files: e.files, ...(e.features ? { features: e.features } : {}) }, (ev) => {
        if (ev.type === 'add-progress') opts.onProgress?.(ev.progress);
      }).then((r) => ({ ...changed(r), added: r.added })),
    remove: (expertId: string): Promise<ExpertsChange> => this.request({ type: 'remove-expert', expertId }).then(changed),
    setEnabled: (expertId: string, enabled: boolean): Promise<ExpertsChange> => this.request({ type: 'set-expert-enabled', expertId, enabled }).then(changed),
  };

  /** Requests for tests and troubleshooting. */
  readonly diagnostics = {
    /** The router's parameters now (and their SHA-256). */
    routerParameters: async (): Promise<RouterParameters> => (await this.request({ type: 'router-parameters' })).router,
    /** Destroys the GPU device as if it were lost; the worker rebuilds the session and sends notices. */
    simulateDeviceLoss: async (): Promise<void> => {
      await this.request({ type: 'simulate-device-loss' });
    },
  };

  constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent<WorkerResponse>) => this.receive(e.data);
    worker.onerror = (e) => {
      const err = new EngineError({ code: 'WORKER_CRASHED', message: e.message || 'The engine worker stopped unexpectedly.' });
      for (const w of this.pending.values()) w.reject(err);
      this.pending.clear();
    };
  }

  static create(): EngineClient {
    return new EngineClient(new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module' }));
  }

  /** Which backend the worker would use (answered without waiting behind model work). */
  async probe(preference: BackendPreference): Promise<BackendInfo> {
    return (await this.request({ type: 'probe', preference })).backend;
  }

  /** Loads a bundle (replacing any loaded one); `onProgress` gets the download and setup stages. */
  async load(url: string, preference: BackendPreference, onProgress?: (p: EngineLoadProgress) => void, extras: LoadExtras = {}): Promise<BundleInfo> {
    const r = await this.request({ type: 'load', url, preference, ...extras }, (e) => {
      if (e.type === 'load-progress') onProgress?.(e.progress);
    });
    return r.bundle;
  }

  /** What opening a bundle would take on this device, from its manifest alone; the loaded bundle is untouched. */
  async checkBundle(url: string, preference: BackendPreference): Promise<BundleCheckInfo> {
    return (await this.request({ type: 'check-bundle', url, preference })).check;
  }

  /** One answer, streamed: `routed`, then `token`s, then `done`. A failed request throws an EngineError. */
  async *generate(history: ChatTurn[], settings: GenerationSettings, variant: Variant, opts: GenerateOptions = {}): AsyncGenerator<GenerateEvent, void, undefined> {
    const queue: GenerateEvent[] = [];
    let wake: (() => void) | undefined;
    let failure: { error: unknown } | undefined;
    const push = (e: GenerateEvent) => {
      queue.push(e);
      wake?.();
    };
    const id = this.send({ type: 'generate', history, settings, variant }, (e) => {
      if (e.type === 'routed') push({ type: 'routed', routing: e.routing, routeMs: e.routeMs, composeMs: e.composeMs, ...(e.confidence ? { confidence: e.confidence } : {}) });
      else if (e.type === 'token') push({ type: 'token', textDelta: e.textDelta });
    });
    id.done.then(
      (r) => push({ type: 'done', result: r.result }),
      (error: unknown) => {
        failure = { error };
        wake?.();
      },
    );
    let finished = false;
    const cancel = () => {
      if (!finished) this.request({ type: 'cancel', target: id.id }).catch(() => undefined);
    };
    const signal = opts.signal;
    signal?.addEventListener('abort', cancel, { once: true });
    if (signal?.aborted) cancel();
    try {
      for (;;) {
        while (queue.length > 0) {
          const e = queue.shift()!;
          if (e.type === 'done') finished = true;
          yield e;
          if (finished) return;
        }
        if (failure) {
          finished = true;
          throw failure.error;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      signal?.removeEventListener('abort', cancel);
      // The consumer left the loop before the end: the worker need not finish the answer.
      cancel();
    }
  }

  /** One whole answer; `onEvent` sees the stream's events as they come. */
  async answer(history: ChatTurn[], settings: GenerationSettings, variant: Variant, opts: GenerateOptions & { onEvent?: (e: GenerateEvent) => void } = {}): Promise<GenerationDone> {
    for await (const e of this.generate(history, settings, variant, opts)) {
      opts.onEvent?.(e);
      if (e.type === 'done') return e.result;
    }
    throw new EngineError({ code: 'INTERNAL', message: 'The generation ended without a result.' });
  }

  /**
   * One prompt answered three ways, one after the other: Twin-Merging, the fine-tuned expert the
   * router ranked first (when `experts` says the bundle ships its full weights), the static merge.
   */
  async *compare(prompt: string, settings: GenerationSettings, experts: readonly ExpertInfo[]): AsyncGenerator<CompareStep, void, undefined> {
    const history: ChatTurn[] = [{ role: 'user', content: prompt }];
    const twin = await this.answer(history, settings, { kind: 'twin' });
    yield { column: 'twin', result: twin };
    const top = Object.entries(twin.routing).sort((a, b) => b[1] - a[1])[0]?.[0];
    if (!top) yield { column: 'expert', expertId: null, skipped: 'none-routed' };
    else if (!experts.find((e) => e.id === top)?.hasFullWeights) yield { column: 'expert', expertId: top, skipped: 'no-full-weights' };
    else yield { column: 'expert', expertId: top, result: await this.answer(history, settings, { kind: 'expert', expertId: top }) };
    yield { column: 'static', result: await this.answer(history, settings, { kind: 'static' }) };
  }

  /** Router weights for one message over the enabled experts, without generating. */
  async route(text: string, settings: GenerationSettings): Promise<{ routing: Record<string, number>; routeMs: number }> {
    const r = await this.request({ type: 'route', text, settings });
    return { routing: r.routing, routeMs: r.routeMs };
  }

  /** What dropped files are, checked against the loaded bundle's shapes; throws an EngineError naming the file (and tensor) when they do not fit. */
  async inspect(files: DroppedFile[]): Promise<InspectedExpert> {
    return (await this.request({ type: 'inspect-expert', files })).expert;
  }

  /** The engine's memory now (weights, experts, composed weights, KV cache, device buffers). */
  async memory(): Promise<MemoryReport> {
    return (await this.request({ type: 'memory' })).memory;
  }

  dispose(): void {
    this.worker.terminate();
    const err = new EngineError({ code: 'DISPOSED', message: 'The engine was shut down.' });
    for (const w of this.pending.values()) w.reject(err);
    this.pending.clear();
  }

  private receive(msg: WorkerResponse): void {
    if (msg.type === 'notice') return this.onNotice?.(msg);
    const waiter = this.pending.get(msg.id);
    if (!waiter) return;
    if (!(FINAL_TYPES as ReadonlySet<string>).has(msg.type)) return waiter.onEvent?.(msg as WorkerEvent);
    this.pending.delete(msg.id);
    if (msg.type === 'error') waiter.reject(new EngineError(msg.error));
    else waiter.resolve(msg);
  }

  /** Posts a request; `done` settles with its final message. */
  private send<B extends WorkerRequestBody>(body: B, onEvent?: (e: WorkerEvent) => void): { id: number; done: Promise<FinalFor[B['type']]> } {
    const id = this.nextId++;
    const done = new Promise<FinalFor[B['type']]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as unknown as (r: WorkerResponse) => void, reject, onEvent });
    });
    this.worker.postMessage({ ...body, id });
    return { id, done };
  }

  private request<B extends WorkerRequestBody>(body: B, onEvent?: (e: WorkerEvent) => void): Promise<FinalFor[B['type']]> {
    return this.send(body, onEvent).done;
  }
}

function changed(r: { experts: ExpertInfo[]; trainMs: number }): ExpertsChange {
  return { experts: r.experts, trainMs: r.trainMs };
}
