// An OpenAI chat-completions request, checked at the API's boundary (zod) and turned into what the
// engine runs: the chat turns, the generation settings and the variant (which weights answer). The
// subset of OpenAI's parameters that a local model can honour is accepted; the rest are rejected with
// the parameter named, as OpenAI does for unknown arguments (docs/api.md lists both).
import { z } from 'zod';
import { DEFAULT_SETTINGS, type ChatTurn, type GenerationSettings, type Variant } from '../worker/protocol.ts';
import { ApiError } from './apiError.ts';

/** The model ids the engine serves (engine.models.list()): per-message Twin-Merging, the shared merge alone, one expert's own weights. */
export const TWIN_MODEL = 'twin';
export const STATIC_MODEL = 'static';
export const EXPERT_MODEL_PREFIX = 'expert:';

const TextPart = z.object({ type: z.literal('text'), text: z.string() }).strict();
const Content = z.union([z.string(), z.array(TextPart)]);

const Message = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: Content, name: z.string().optional() }).strict(),
  z.object({ role: z.literal('developer'), content: Content, name: z.string().optional() }).strict(),
  z.object({ role: z.literal('user'), content: Content, name: z.string().optional() }).strict(),
  z.object({ role: z.literal('assistant'), content: Content.nullable().optional(), name: z.string().optional(), refusal: z.string().nullable().optional() }).strict(),
]);

/** twinmerge's own settings, in an extension field that OpenAI clients pass through as an extra body field. */
const Extension = z
  .object({
    top_k: z.number().int().min(0).optional(),
    routing_temperature: z.number().positive().max(100).optional(),
    routing_top_k: z.number().int().min(0).optional(),
  })
  .strict();

const zeroOnly = (what: string) => z.number().refine((v) => v === 0, `${what} is not supported by twinmerge (only 0)`);

export const ChatCompletionRequestSchema = z
  .object({
    model: z.string().optional(),
    messages: z.array(Message).min(1, 'messages must hold at least one message'),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().gt(0).max(1).nullable().optional(),
    max_tokens: z.number().int().min(1).max(4096).nullable().optional(),
    max_completion_tokens: z.number().int().min(1).max(4096).nullable().optional(),
    stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullable().optional(),
    seed: z.number().int().nullable().optional(),
    n: z.literal(1, 'n: twinmerge generates one choice per request (n must be 1)').nullable().optional(),
    user: z.string().optional(),
    frequency_penalty: zeroOnly('frequency_penalty').nullable().optional(),
    presence_penalty: zeroOnly('presence_penalty').nullable().optional(),
    logprobs: z.literal(false, 'logprobs are not supported by twinmerge').nullable().optional(),
    response_format: z.object({ type: z.literal('text', "response_format: only {type: 'text'} is supported") }).nullable().optional(),
    twinmerge: Extension.optional(),
  })
  .strict();

export type ChatCompletionRequest = z.input<typeof ChatCompletionRequestSchema>;
export type ChatMessageParam = z.input<typeof Message>;

/** What the engine runs for a request. */
export interface EngineRequest {
  model: string;
  history: ChatTurn[];
  settings: GenerationSettings;
  variant: Variant;
  stream: boolean;
  includeUsage: boolean;
}

/** `messages[2].content[0].text` for a zod path. */
function paramOf(path: readonly PropertyKey[]): string | null {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || null;
}

/** The first problem of a request as OpenAI words it: unknown arguments by name, else the parameter and what is wrong. */
function firstProblem(error: z.ZodError): ApiError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const at = paramOf(issue.path);
    const keys = issue.keys.map((k) => (at ? `${at}.${k}` : k));
    return ApiError.invalid(`Unrecognized request argument supplied: ${keys.join(', ')}`, keys[0] ?? null, 'unrecognized_argument');
  }
  const param = paramOf(issue.path);
  return ApiError.invalid(param ? `${param}: ${issue.message}` : issue.message, param, 'invalid_value');
}

function text(content: z.infer<typeof Content> | null | undefined): string {
  if (content == null) return '';
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}

/**
 * Checks a request and maps it onto the engine. `base` is the settings the engine uses for what the
 * request leaves out (greedy decoding by default, unlike OpenAI's temperature 1: docs/api.md).
 */
export function parseChatRequest(body: unknown, base: GenerationSettings = DEFAULT_SETTINGS): EngineRequest {
  const parsed = ChatCompletionRequestSchema.safeParse(body);
  if (!parsed.success) throw firstProblem(parsed.error);
  const r = parsed.data;
  // The demo models were trained without a system prompt: system and developer messages are accepted and not used.
  const history: ChatTurn[] = [];
  for (const m of r.messages) {
    if (m.role === 'user' || m.role === 'assistant') history.push({ role: m.role, content: text(m.content) });
  }
  if (history.at(-1)?.role !== 'user') {
    throw ApiError.invalid('messages: the last message (system and developer messages aside) must come from the user', 'messages', 'invalid_value');
  }
  const model = r.model ?? TWIN_MODEL;
  const ext = r.twinmerge ?? {};
  const settings: GenerationSettings = {
    temperature: r.temperature ?? base.temperature,
    topP: r.top_p ?? base.topP,
    topK: ext.top_k ?? base.topK,
    maxNewTokens: r.max_completion_tokens ?? r.max_tokens ?? base.maxNewTokens,
    routingTemperature: ext.routing_temperature ?? base.routingTemperature,
    routingTopK: ext.routing_top_k ?? base.routingTopK,
    seed: r.seed ?? base.seed,
  };
  const stop = r.stop == null ? [] : typeof r.stop === 'string' ? [r.stop] : r.stop;
  if (stop.length) settings.stop = stop;
  return { model, history, settings, variant: variantOf(model), stream: r.stream ?? false, includeUsage: r.stream_options?.include_usage ?? false };
}

/** The variant a model id names (whether it exists is the engine's to check). */
export function variantOf(model: string): Variant {
  if (model === TWIN_MODEL) return { kind: 'twin' };
  if (model === STATIC_MODEL) return { kind: 'static' };
  if (model.startsWith(EXPERT_MODEL_PREFIX) && model.length > EXPERT_MODEL_PREFIX.length) return { kind: 'expert', expertId: model.slice(EXPERT_MODEL_PREFIX.length) };
  throw new ApiError(404, 'invalid_request_error', `The model '${model}' does not exist: use '${TWIN_MODEL}', '${STATIC_MODEL}' or '${EXPERT_MODEL_PREFIX}<expert id>' (engine.models.list())`, { param: 'model', code: 'model_not_found' });
}

/** Request fields for the app's settings: what the chat sends through chat.completions.create. */
export function requestSettings(s: GenerationSettings): Pick<ChatCompletionRequest, 'temperature' | 'top_p' | 'max_tokens' | 'seed' | 'twinmerge' | 'stop'> {
  return {
    temperature: s.temperature,
    top_p: s.topP,
    max_tokens: s.maxNewTokens,
    seed: s.seed,
    ...(s.stop?.length ? { stop: s.stop } : {}),
    twinmerge: { top_k: s.topK, routing_temperature: s.routingTemperature, routing_top_k: s.routingTopK },
  };
}
