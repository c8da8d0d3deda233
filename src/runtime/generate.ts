/**
 * The generation loop: prefill (reusing the cached prefix), then one token per run until EOS, a
 * stop string, maxNewTokens or an abort. Streams tokens as an async iterator (streamGenerate) or
 * through a callback (generate's onToken).
 */
import { makeRng, sampleToken, type SamplingOptions } from './sampling.ts';
import type { DecoderEngine } from './engine.ts';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Token ids that end generation (the EOS token itself is not part of the output). */
  eosTokenIds?: readonly number[];
  /** Strings that end generation; the text is cut before them. Needs `decode`. */
  stopStrings?: readonly string[];
  /** Token ids → text (a tokenizer's decode); enables text output and stop strings. */
  decode?: (ids: number[]) => string;
  signal?: AbortSignal;
  onToken?: (ev: TokenEvent) => void;
}

export interface TokenEvent {
  token: number;
  /** Index among the generated tokens. */
  index: number;
  /** New text since the previous event (held back while it could begin a stop string). */
  textDelta: string;
}

export type FinishReason = 'eos' | 'stop' | 'length' | 'aborted' | 'context';

export interface GenerationResult {
  /** Generated token ids (without the EOS token). */
  tokens: number[];
  text: string;
  finishReason: FinishReason;
  /** Prompt tokens that had to be computed (the rest came from the cache). */
  promptTokensComputed: number;
  prefillMs: number;
  decodeMs: number;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
function heldBack(text: string, stops: readonly string[]): number {
  let best = 0;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, text.length); k > best; k--) {
      if (text.endsWith(s.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best;
}

export async function* streamGenerate(
  engine: DecoderEngine,
  prompt: readonly number[],
  opts: GenerateOptions,
): AsyncGenerator<TokenEvent, GenerationResult, void> {
  const eos = new Set(opts.eosTokenIds ?? engine.spec.eosTokenIds);
  const stops = (opts.stopStrings ?? []).filter((s) => s.length > 0);
  if (stops.length > 0 && !opts.decode) throw new Error('stopStrings need a decode function');
  const rng = makeRng(opts.seed ?? 0);
  const tokens: number[] = [];
  let text = '';
  let emitted = 0;
  let finishReason: FinishReason = 'length';

  const t0 = now();
  if (opts.signal?.aborted) {
    return { tokens, text, finishReason: 'aborted', promptTokensComputed: 0, prefillMs: 0, decodeMs: 0 };
  }
  const pre = await engine.prefill(prompt);
  const t1 = now();
  let logits = pre.logits;
  const maxLen = engine.io.maxSequenceLength;

  for (let i = 0; i < opts.maxNewTokens; i++) {
    if (opts.signal?.aborted) {
      finishReason = 'aborted';
      break;
    }
    const tok = sampleToken(logits, opts, rng);
    if (eos.has(tok)) {
      finishReason = 'eos';
      break;
    }
    tokens.push(tok);
    let delta = '';
    if (opts.decode) {
      text = opts.decode(tokens);
      const hit = stops
        .map((s) => text.indexOf(s))
        .filter((p) => p >= 0)
        .reduce((a, b) => Math.min(a, b), Infinity);
      if (hit !== Infinity) {
        text = text.slice(0, hit);
        finishReason = 'stop';
      }
      const safe = finishReason === 'stop' ? text.length : text.length - heldBack(text, stops);
      if (safe > emitted) {
        delta = text.slice(emitted, safe);
        emitted = safe;
      }
    }
    const ev: TokenEvent = { token: tok, index: i, textDelta: delta };
    opts.onToken?.(ev);
    yield ev;
    if (finishReason === 'stop') break;
    if (i + 1 >= opts.maxNewTokens) break;
    if (engine.cachedTokens.length + 1 > maxLen) {
      finishReason = 'context';
      break;
    }
    logits = (await engine.forward([tok])).logits;
  }
  if (opts.decode && finishReason !== 'stop' && emitted < text.length) {
    const ev: TokenEvent = { token: -1, index: tokens.length, textDelta: text.slice(emitted) };
    opts.onToken?.(ev);
    yield ev;
  }
  return {
    tokens,
    text,
    finishReason,
    promptTokensComputed: pre.computed,
    prefillMs: t1 - t0,
    decodeMs: now() - t1,
  };
}

/** Run streamGenerate to completion (tokens still go to opts.onToken as they come). */
export async function generate(
  engine: DecoderEngine,
  prompt: readonly number[],
  opts: GenerateOptions,
): Promise<GenerationResult> {
  const it = streamGenerate(engine, prompt, opts);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}
