// OpenAI-shaped answers: a `chat.completion`, or the `chat.completion.chunk`s of a stream. What is
// twinmerge's own (the routing weights, the timings, which weights answered) rides in a `twinmerge`
// extension field that standard clients ignore.
import type { Confidence, GenerationDone, Timings, Variant } from '../worker/protocol.ts';

export type FinishReason = 'stop' | 'length' | 'abort';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** The extension on a finished answer (and on a stream's last chunk). */
export interface TwinmergeResult {
  routing: Record<string, number>;
  timings: Timings;
  variant: Variant;
  /** Whether any enabled expert fits the message (absent when not judged: bundles without thresholds, static or expert models). */
  confidence?: Confidence;
  /** Earlier turns left out so the prompt and the answer fit the model's positions. */
  droppedTurns: number;
}

/** The extension on a stream's first chunk: the routing is known before the first token. */
export interface TwinmergeRouted {
  routing: Record<string, number>;
  routeMs: number;
  composeMs: number;
  confidence?: Confidence;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint: string | null;
  choices: {
    index: 0;
    message: { role: 'assistant'; content: string; refusal: null };
    finish_reason: FinishReason;
    logprobs: null;
  }[];
  usage: Usage;
  twinmerge: TwinmergeResult;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint: string | null;
  choices: {
    index: 0;
    delta: { role?: 'assistant'; content?: string };
    finish_reason: FinishReason | null;
    logprobs: null;
  }[];
  /** Only on the extra last chunk asked for with stream_options.include_usage (its choices are empty). */
  usage?: Usage | null;
  twinmerge?: TwinmergeRouted | TwinmergeResult;
}

/** OpenAI's finish reasons for the engine's: end of sequence and stop strings are 'stop'; out of tokens or positions is 'length'; an abort is 'abort' (WebLLM's word for it). */
export function finishReason(engine: string): FinishReason {
  if (engine === 'eos' || engine === 'stop') return 'stop';
  if (engine === 'aborted') return 'abort';
  return 'length';
}

export function usageOf(t: Timings): Usage {
  return { prompt_tokens: t.promptTokens, completion_tokens: t.generatedTokens, total_tokens: t.promptTokens + t.generatedTokens };
}

/** The fields every object of one answer shares. */
export interface AnswerHead {
  id: string;
  created: number;
  model: string;
  system_fingerprint: string | null;
}

export function newAnswerHead(model: string, fingerprint: string | null): AnswerHead {
  return { id: `chatcmpl-${crypto.randomUUID()}`, created: Math.floor(Date.now() / 1000), model, system_fingerprint: fingerprint };
}

export function completionOf(head: AnswerHead, done: GenerationDone): ChatCompletion {
  return {
    ...head,
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content: done.text, refusal: null }, finish_reason: finishReason(done.finishReason), logprobs: null }],
    usage: usageOf(done.timings),
    twinmerge: resultExtension(done),
  };
}

/** The extension of a finished answer. */
export function resultExtension(d: GenerationDone): TwinmergeResult {
  return { routing: d.routing, timings: d.timings, variant: d.variant, droppedTurns: d.droppedTurns, ...(d.confidence ? { confidence: d.confidence } : {}) };
}

export function chunkOf(head: AnswerHead, delta: ChatCompletionChunk['choices'][0]['delta'], finish: FinishReason | null, extension?: ChatCompletionChunk['twinmerge']): ChatCompletionChunk {
  return { ...head, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], ...(extension ? { twinmerge: extension } : {}) };
}

export function usageChunkOf(head: AnswerHead, t: Timings): ChatCompletionChunk {
  return { ...head, object: 'chat.completion.chunk', choices: [], usage: usageOf(t) };
}
