/**
 * DecoderEngine: one ORT session of a graph from src/model/onnx/decoder.ts, its weight feeds and
 * its KV cache. Batch size 1 (a chat). Backend-agnostic: takes the ORT module as a value.
 *
 * KV cache: the present.N tensors of the last run become the next run's past. On WebGPU the
 * session keeps them on the GPU (preferredOutputLocation 'gpu-buffer'); the engine disposes the
 * superseded ones. A cache is tied to the weights that made it: setWeights() drops it.
 * Prefix reuse: prefill(prompt) feeds only the tokens after the longest cached prefix.
 * Decode steps may run on a second session of a single-token step graph (EngineOptions.stepModel).
 */
import type { ModelSpec } from '../model/config.ts';
import type { DecoderIO } from '../model/onnx/decoder.ts';
import { inputsToExternalInitializers } from '../model/onnx/graph.ts';
import type { OrtModule, OrtSession, OrtSessionOptions, OrtTensor } from './ort.ts';

export interface EngineOptions {
  /** Keep present/past on the GPU (WebGPU EP only). */
  gpuCache?: boolean;
  /**
   * Feed a multi-token continuation in one run when a cache exists (GQA "subsequent prompt").
   * When false, continuation tokens are fed one per run (always supported). Default true.
   */
  chunkedContinuation?: boolean;
  /**
   * Most new tokens per session run; longer inputs run as several chunks through the cache.
   * Needed only on a WebGPU device with the `subgroups` feature and a subgroup size below 8
   * (onnxruntime-node's own device on SwiftShader): ORT 1.30's FlashAttention prefill shader then
   * returns wrong rows for 32 or more new tokens in one run (see docs/engine.md). The app's devices
   * never enable `subgroups`, so createBrowserEngine leaves it unlimited there. Default: unlimited.
   */
  maxTokensPerRun?: number;
  /**
   * Keep the weights resident in the session instead of feeding them on every run (WASM EP:
   * onnxruntime-web copies every CPU input into the wasm heap on every run, and MLAS cannot prepack
   * weights that are inputs). The CPU tensors given to setWeights() (whose arrays the owner may
   * update in place) become the initializers of a session of the same graph (weight inputs turned
   * into external-data initializers: `externalData`, no protobuf copy), built lazily before the next
   * run after setWeights() or weightsChanged(), the previous session released first. The owner
   * MUST call weightsChanged() after changing the arrays in place (resetCache() is not enough).
   * hiddenStates/layerHiddenStates with other weights throw. Needs an ORT with `externalData`
   * (onnxruntime-web). Default false.
   */
  residentWeights?: boolean;
  /**
   * A single-token step graph of the same model (stepGraphFor): runs of exactly one new token (decode
   * steps, without hidden states) go to a second session of it, with the same weight feeds and cache.
   * Not with residentWeights.
   */
  stepModel?: Uint8Array;
}

export interface ForwardResult {
  /** Logits of the last fed position, [vocab]. */
  logits: Float32Array;
  /** All positions' logits [n, vocab] (only when requested and the graph outputs them). */
  allLogits?: Float32Array;
  /** last_hidden_state for the fed tokens [n, hidden] (only when requested). */
  hidden?: Float32Array;
}

export interface ForwardOptions {
  allLogits?: boolean;
  hidden?: boolean;
}

export class CacheOverflowError extends Error {
  override readonly name = 'CacheOverflowError';
}

interface Cache {
  keys: OrtTensor[];
  values: OrtTensor[];
}

export class DecoderEngine {
  private weights: Record<string, OrtTensor> = {};
  private sess: OrtSession | null;
  /** residentWeights: the session lacks the current weights (rebuilt before the next run). */
  private stale = false;
  private building: Promise<OrtSession> | null = null;
  private residentModel: ReturnType<typeof inputsToExternalInitializers> | null = null;
  /** residentWeights: sessions built with the weights baked in, and the last build's ms. */
  readonly residentStats = { builds: 0, lastBuildMs: 0 };
  /** Session runs so far: of the general graph, and of the single-token step graph (stepModel). */
  readonly runs = { general: 0, step: 0 };
  private cache: Cache | null = null;
  private tokens: number[] = [];
  private lastLogits: Float32Array | null = null;
  private readonly hasHidden: boolean;

  private constructor(
    private readonly ort: OrtModule,
    session: OrtSession,
    /** The single-token step session (EngineOptions.stepModel), if any. */
    private step: OrtSession | null,
    readonly spec: ModelSpec,
    readonly io: DecoderIO,
    private readonly opts: EngineOptions,
    /** residentWeights: the weights-as-inputs model and its session options (for the resident sessions). */
    private readonly source: { model: Uint8Array; so: OrtSessionOptions } | null,
  ) {
    this.sess = session;
    this.hasHidden = session.outputNames.includes('last_hidden_state');
  }

  /** The current ORT session (in resident mode, replaced after each weight change). */
  get session(): OrtSession {
    if (!this.sess) throw new Error('DecoderEngine: no session (a resident rebuild failed or is under way)');
    return this.sess;
  }

  /** Whether the weights live in the session (residentWeights on a graph with weight inputs). */
  get resident(): boolean {
    return this.source !== null;
  }

  /** Create a session for `model` (ONNX bytes) on the EPs given in `sessionOptions`. */
  static async create(
    ort: OrtModule,
    model: Uint8Array,
    spec: ModelSpec,
    io: DecoderIO,
    sessionOptions: OrtSessionOptions = {},
    opts: EngineOptions = {},
  ): Promise<DecoderEngine> {
    const so: OrtSessionOptions = { ...sessionOptions };
    if (opts.gpuCache) {
      const loc: Record<string, 'gpu-buffer' | 'cpu'> = {};
      for (const n of [...io.presentKeyNames, ...io.presentValueNames]) loc[n] = 'gpu-buffer';
      so.preferredOutputLocation = loc;
    }
    const resident = opts.residentWeights === true && io.weightInputs.length > 0;
    if (resident && opts.stepModel) throw new Error('DecoderEngine: stepModel and residentWeights do not combine');
    const session = await ort.InferenceSession.create(model, so);
    const step = opts.stepModel ? await ort.InferenceSession.create(opts.stepModel, so) : null;
    for (const s of step ? [session, step] : [session]) {
      const missing = io.weightInputs.filter((w) => !s.inputNames.includes(w.name));
      if (missing.length > 0) throw new Error(`graph lacks weight inputs: ${missing.map((w) => w.name).join(', ')}`);
    }
    return new DecoderEngine(ort, session, step, spec, io, opts, resident ? { model, so } : null);
  }

  /** Replace the weight feeds (graph layout, see WeightInfo.graphShape). Drops the KV cache. */
  setWeights(feeds: Record<string, OrtTensor>): void {
    const missing = this.io.weightInputs.filter((w) => !(w.name in feeds));
    if (missing.length > 0) {
      throw new Error(`missing weight feeds: ${missing.slice(0, 5).map((w) => w.name).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
    }
    for (const w of this.io.weightInputs) {
      const t = feeds[w.name]!;
      if (t.dims.length !== w.graphShape.length || t.dims.some((d, i) => d !== w.graphShape[i])) {
        throw new Error(`weight ${w.name}: expected dims [${w.graphShape.join(', ')}], got [${t.dims.join(', ')}]`);
      }
    }
    this.weights = feeds;
    this.weightsChanged();
  }

  /**
   * The feeds' arrays (or GPU buffers) were changed in place, e.g. by a new composition: drops the
   * KV cache and, in resident mode, rebuilds the session with the new values before the next run.
   */
  weightsChanged(): void {
    this.resetCache();
    if (this.source) this.stale = true;
  }

  /**
   * residentWeights: builds the session with the current weights now if a change left it stale, so
   * the cost lands where the caller measures it (e.g. as part of composing); ms taken, 0 otherwise.
   */
  async prepare(): Promise<number> {
    if (!this.source || (this.sess && !this.stale)) return 0;
    const t0 = performance.now();
    await this.sessionFor(this.weights);
    return performance.now() - t0;
  }

  /** The session to run with `weights`: in resident mode (re)built with this.weights when stale. */
  private async sessionFor(weights: Record<string, OrtTensor>): Promise<OrtSession> {
    if (!this.source) return this.session;
    if (weights !== this.weights) {
      throw new Error('DecoderEngine: residentWeights: cannot run with other weights than setWeights() gave (the weights are baked into the session)');
    }
    if (this.sess && !this.stale) return this.sess;
    this.building ??= this.buildResident().finally(() => {
      this.building = null;
    });
    return this.building;
  }

  private async buildResident(): Promise<OrtSession> {
    const src = this.source!;
    const t0 = performance.now();
    // Release first: the wasm heap then reuses the old session's memory for the new weights.
    const old = this.sess;
    this.sess = null;
    if (old) await old.release();
    const m = (this.residentModel ??= inputsToExternalInitializers(src.model, this.io.weightInputs.map((w) => w.name)));
    const externalData = this.io.weightInputs.map((w, i) => {
      const t = this.weights[w.name];
      if (!t) throw new Error(`missing weight feed ${w.name}`);
      if (t.location !== 'cpu') throw new Error(`residentWeights needs CPU weight tensors (${w.name} is on ${t.location})`);
      const d = t.data as ArrayBufferView;
      if (d.byteLength !== m.byteLengths[i]) throw new Error(`weight ${w.name}: ${d.byteLength} bytes, the graph wants ${m.byteLengths[i]}`);
      return { path: m.locations[i]!, data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
    });
    // A weightsChanged() while ORT copies the data marks it stale again: the next run rebuilds.
    this.stale = false;
    this.sess = await this.ort.InferenceSession.create(m.bytes, { ...src.so, externalData });
    this.residentStats.builds++;
    this.residentStats.lastBuildMs = performance.now() - t0;
    return this.sess;
  }

  /** Tokens whose keys/values the cache holds. */
  get cachedTokens(): readonly number[] {
    return this.tokens;
  }

  resetCache(): void {
    if (this.cache) this.disposeCache(this.cache);
    this.cache = null;
    this.tokens = [];
    this.lastLogits = null;
  }

  private disposeCache(c: Cache): void {
    if (!this.opts.gpuCache) return;
    for (const t of [...c.keys, ...c.values]) t.dispose();
  }

  private emptyPast(): OrtTensor {
    const { numKvHeads, headDim } = this.spec;
    return new this.ort.Tensor('float32', new Float32Array(0), [1, numKvHeads, 0, headDim]);
  }

  /** Cut the cache to its first n tokens (CPU cache only). Returns false when not possible. */
  truncateCache(n: number): boolean {
    if (n >= this.tokens.length) return true;
    if (n === 0) {
      this.resetCache();
      return true;
    }
    if (this.opts.gpuCache || !this.cache) return false;
    const { numKvHeads: kvH, headDim: D } = this.spec;
    const len = this.tokens.length;
    const cut = (t: OrtTensor): OrtTensor => {
      const src = t.data as Float32Array;
      const dst = new Float32Array(kvH * n * D);
      for (let h = 0; h < kvH; h++) dst.set(src.subarray(h * len * D, h * len * D + n * D), h * n * D);
      return new this.ort.Tensor('float32', dst, [1, kvH, n, D]);
    };
    this.cache = { keys: this.cache.keys.map(cut), values: this.cache.values.map(cut) };
    this.tokens = this.tokens.slice(0, n);
    this.lastLogits = null;
    return true;
  }

  private get chunk(): number {
    return this.opts.maxTokensPerRun ?? Number.POSITIVE_INFINITY;
  }

  /** One session run of `ids` after `past` (null = empty). */
  private async run(
    ids: readonly number[],
    past: Cache | null,
    pastLen: number,
    fetchHidden: boolean,
    weights: Record<string, OrtTensor>,
    layerHidden = false,
  ): Promise<{ logits: Float32Array; hidden?: Float32Array; layers?: Float32Array[]; present: Cache }> {
    const ort = this.ort;
    const total = pastLen + ids.length;
    const onStep = ids.length === 1 && this.step !== null && !fetchHidden && !layerHidden;
    const session = onStep ? this.step! : await this.sessionFor(weights);
    this.runs[onStep ? 'step' : 'general']++;
    const feeds: Record<string, OrtTensor> = this.source ? {} : { ...weights };
    feeds['input_ids'] = new ort.Tensor('int64', BigInt64Array.from(ids, (x) => BigInt(x)), [1, ids.length]);
    feeds['attention_mask'] = new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]);
    for (let i = 0; i < this.io.numLayers; i++) {
      feeds[this.io.pastKeyNames[i]!] = past?.keys[i] ?? this.emptyPast();
      feeds[this.io.pastValueNames[i]!] = past?.values[i] ?? this.emptyPast();
    }
    const fetches = [...(this.io.head ? ['logits'] : []), ...this.io.presentKeyNames, ...this.io.presentValueNames];
    if (fetchHidden) fetches.push('last_hidden_state');
    if (layerHidden) fetches.push(...this.io.layerHiddenNames);
    const out = await session.run(feeds, fetches);
    const present = {
      keys: this.io.presentKeyNames.map((n) => out[n]!),
      values: this.io.presentValueNames.map((n) => out[n]!),
    };
    const res: { logits: Float32Array; hidden?: Float32Array; layers?: Float32Array[]; present: Cache } = {
      logits: this.io.head ? (out['logits']!.data as Float32Array) : new Float32Array(0),
      present,
    };
    if (fetchHidden) res.hidden = out['last_hidden_state']!.data as Float32Array;
    if (layerHidden) res.layers = this.io.layerHiddenNames.map((n) => out[n]!.data as Float32Array);
    return res;
  }

  /** Run `ids` after the cached tokens and append them to the cache. */
  async forward(ids: readonly number[], opts: ForwardOptions = {}): Promise<ForwardResult> {
    if (ids.length === 0) throw new Error('forward: no tokens');
    if (!this.io.head) throw new Error('forward: this graph has no LM head (a router graph: use hiddenStates)');
    const total = this.tokens.length + ids.length;
    if (total > this.io.maxSequenceLength) {
      throw new CacheOverflowError(`sequence of ${total} tokens exceeds the graph's ${this.io.maxSequenceLength}`);
    }
    const V = this.spec.vocabSize;
    const wantHidden = opts.hidden === true && this.hasHidden;
    if (opts.allLogits && this.io.logits !== 'all') throw new Error("this graph returns only the last position's logits");
    const logitParts: Float32Array[] = [];
    const hiddenParts: Float32Array[] = [];
    for (let s = 0; s < ids.length; s += this.chunk) {
      const part = ids.slice(s, s + this.chunk);
      const r = await this.run(part, this.cache, this.tokens.length, wantHidden, this.weights);
      const old = this.cache;
      this.cache = r.present;
      if (old) this.disposeCache(old);
      this.tokens.push(...part);
      logitParts.push(opts.allLogits ? r.logits : r.logits.slice(r.logits.length - V));
      if (r.hidden) hiddenParts.push(r.hidden);
    }
    const last = logitParts[logitParts.length - 1]!;
    const logits = last.slice(last.length - V);
    this.lastLogits = logits;
    const res: ForwardResult = { logits };
    if (opts.allLogits) res.allLogits = concat(logitParts);
    if (wantHidden) res.hidden = concat(hiddenParts);
    return res;
  }

  /**
   * Make the cache hold `prompt` and return the logits after its last token, reusing the longest
   * cached prefix (a chat's earlier turns) when the weights have not changed.
   * Returns how many prompt tokens were actually computed.
   */
  async prefill(prompt: readonly number[]): Promise<{ logits: Float32Array; computed: number }> {
    if (prompt.length === 0) throw new Error('prefill: empty prompt');
    let common = 0;
    while (common < this.tokens.length && common < prompt.length && this.tokens[common] === prompt[common]) common++;
    if (common === prompt.length && common === this.tokens.length && this.lastLogits) {
      return { logits: this.lastLogits, computed: 0 };
    }
    if (common === prompt.length) common--; // need the last token's logits: recompute it
    if (common < this.tokens.length && !this.truncateCache(common)) this.resetCache();
    const rest = prompt.slice(this.tokens.length);
    if (this.tokens.length === 0 || this.opts.chunkedContinuation !== false || rest.length === 1) {
      return { logits: (await this.forward(rest)).logits, computed: rest.length };
    }
    let logits: Float32Array | undefined;
    for (const id of rest) logits = (await this.forward([id])).logits;
    return { logits: logits!, computed: rest.length };
  }

  /**
   * last_hidden_state [n, hidden] of `ids` run alone (no cache read or written), optionally with
   * other weights (e.g. the shared model, for the router's features).
   */
  async hiddenStates(ids: readonly number[], weights?: Record<string, OrtTensor>): Promise<Float32Array> {
    if (!this.hasHidden) throw new Error('graph was built without hiddenStateOutput');
    return concat((await this.runAlone(ids, weights, false)).map((r) => r.hidden!));
  }

  /**
   * Every `hidden_states.<i>` output [n, hidden] of `ids` run alone (a graph built with
   * layerHiddenStates), layer 1 first; optionally with other weights.
   */
  async layerHiddenStates(ids: readonly number[], weights?: Record<string, OrtTensor>): Promise<Float32Array[]> {
    if (this.io.layerHiddenNames.length === 0) throw new Error('graph was built without layerHiddenStates');
    const runs = await this.runAlone(ids, weights, true);
    return this.io.layerHiddenNames.map((_, l) => concat(runs.map((r) => r.layers![l]!)));
  }

  /** `ids` in chunks through a private cache (the chat's is neither read nor written), hidden states fetched. */
  private async runAlone(ids: readonly number[], weights: Record<string, OrtTensor> | undefined, layerHidden: boolean): Promise<{ hidden?: Float32Array; layers?: Float32Array[] }[]> {
    const out: { hidden?: Float32Array; layers?: Float32Array[] }[] = [];
    let past: Cache | null = null;
    for (let s = 0; s < ids.length; s += this.chunk) {
      const r = await this.run(ids.slice(s, s + this.chunk), past, s, !layerHidden, weights ?? this.weights, layerHidden);
      if (past) this.disposeCache(past);
      past = r.present;
      out.push(r);
    }
    if (past) this.disposeCache(past);
    return out;
  }

  async dispose(): Promise<void> {
    this.resetCache();
    if (this.building) await this.building.catch(() => undefined);
    const s = this.sess;
    const step = this.step;
    this.sess = this.step = null;
    await s?.release();
    await step?.release();
  }
}

/** Mean over tokens of hidden states [n, hidden] → [hidden] (the router's features). */
export function meanPool(hidden: Float32Array, hiddenSize: number): Float32Array {
  const n = hidden.length / hiddenSize;
  const out = new Float32Array(hiddenSize);
  for (let t = 0; t < n; t++) for (let i = 0; i < hiddenSize; i++) out[i] = out[i]! + hidden[t * hiddenSize + i]! / n;
  return out;
}

function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
