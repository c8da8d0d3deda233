/**
 * DecoderEngine: one ORT session of a graph from src/model/onnx/decoder.ts, its weight feeds and
 * its KV cache. Batch size 1 (a chat). Backend-agnostic: takes the ORT module as a value.
 *
 * KV cache: the present.N tensors of the last run become the next run's past. On WebGPU the
 * session keeps them on the GPU (preferredOutputLocation 'gpu-buffer'); the engine disposes the
 * superseded ones. A cache is tied to the weights that made it: setWeights() drops it.
 * Prefix reuse: prefill(prompt) feeds only the tokens after the longest cached prefix.
 */
import type { ModelSpec } from '../model/config.ts';
import type { DecoderIO } from '../model/onnx/decoder.ts';
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
   * Needed on ORT 1.30's WebGPU EP, whose GroupQueryAttention returns wrong rows for 32 or more
   * new tokens in one run (measured: onnxruntime-node + SwiftShader; see docs/engine.md).
   * Default: unlimited, 16 when gpuCache is set.
   */
  maxTokensPerRun?: number;
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
  private cache: Cache | null = null;
  private tokens: number[] = [];
  private lastLogits: Float32Array | null = null;
  private readonly hasHidden: boolean;

  private constructor(
    private readonly ort: OrtModule,
    readonly session: OrtSession,
    readonly spec: ModelSpec,
    readonly io: DecoderIO,
    private readonly opts: EngineOptions,
  ) {
    this.hasHidden = session.outputNames.includes('last_hidden_state');
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
    const session = await ort.InferenceSession.create(model, so);
    const missing = io.weightInputs.filter((w) => !session.inputNames.includes(w.name));
    if (missing.length > 0) throw new Error(`graph lacks weight inputs: ${missing.map((w) => w.name).join(', ')}`);
    return new DecoderEngine(ort, session, spec, io, opts);
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
    this.resetCache();
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
    return this.opts.maxTokensPerRun ?? (this.opts.gpuCache ? 16 : Number.POSITIVE_INFINITY);
  }

  /** One session run of `ids` after `past` (null = empty). */
  private async run(
    ids: readonly number[],
    past: Cache | null,
    pastLen: number,
    fetchHidden: boolean,
    weights: Record<string, OrtTensor>,
  ): Promise<{ logits: Float32Array; hidden?: Float32Array; present: Cache }> {
    const ort = this.ort;
    const total = pastLen + ids.length;
    const feeds: Record<string, OrtTensor> = { ...weights };
    feeds['input_ids'] = new ort.Tensor('int64', BigInt64Array.from(ids, (x) => BigInt(x)), [1, ids.length]);
    feeds['attention_mask'] = new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]);
    for (let i = 0; i < this.io.numLayers; i++) {
      feeds[this.io.pastKeyNames[i]!] = past?.keys[i] ?? this.emptyPast();
      feeds[this.io.pastValueNames[i]!] = past?.values[i] ?? this.emptyPast();
    }
    const fetches = ['logits', ...this.io.presentKeyNames, ...this.io.presentValueNames];
    if (fetchHidden) fetches.push('last_hidden_state');
    const out = await this.session.run(feeds, fetches);
    const present = {
      keys: this.io.presentKeyNames.map((n) => out[n]!),
      values: this.io.presentValueNames.map((n) => out[n]!),
    };
    const res: { logits: Float32Array; hidden?: Float32Array; present: Cache } = {
      logits: out['logits']!.data as Float32Array,
      present,
    };
    if (fetchHidden) res.hidden = out['last_hidden_state']!.data as Float32Array;
    return res;
  }

  /** Run `ids` after the cached tokens and append them to the cache. */
  async forward(ids: readonly number[], opts: ForwardOptions = {}): Promise<ForwardResult> {
    if (ids.length === 0) throw new Error('forward: no tokens');
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
    const parts: Float32Array[] = [];
    let past: Cache | null = null;
    for (let s = 0; s < ids.length; s += this.chunk) {
      const part = ids.slice(s, s + this.chunk);
      const r = await this.run(part, past, s, true, weights ?? this.weights);
      if (past) this.disposeCache(past);
      past = r.present;
      parts.push(r.hidden!);
    }
    if (past) this.disposeCache(past);
    return concat(parts);
  }

  async dispose(): Promise<void> {
    this.resetCache();
    await this.session.release();
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
