// A `fetch` that answers OpenAI's REST routes from an engine in the page, so that any OpenAI client
// (the official `openai` npm package, or plain fetch code written for OpenAI) talks to twinmerge
// without a server: `new OpenAI({ baseURL: 'https://twinmerge.local/v1', apiKey: 'unused',
// fetch: engineFetch(engine), dangerouslyAllowBrowser: true })`. Streams are server-sent events
// ending with `data: [DONE]`, as OpenAI sends them; errors come back in OpenAI's shape and status.
import { ApiError, toApiError } from './apiError.ts';
import type { ChatCompletionRequest } from './chatRequest.ts';
import type { TwinmergeEngine } from './engine.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
}

function errorResponse(e: unknown): Response {
  const err = toApiError(e);
  return json(err.status, err.toJSON());
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The request was aborted.', 'AbortError');
}

/** Answers POST …/chat/completions and GET …/models (any base URL); anything else is a 404 in OpenAI's shape. */
export function engineFetch(engine: TwinmergeEngine): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const request = new Request(input, init);
    const signal = request.signal;
    if (signal.aborted) throw abortReason(signal);
    const path = new URL(request.url).pathname.replace(/\/+$/, '');
    if (path.endsWith('/models') && request.method === 'GET') return json(200, await engine.models.list());
    if (!path.endsWith('/chat/completions')) return errorResponse(new ApiError(404, 'not_found_error', `twinmerge answers POST /chat/completions and GET /models, not ${request.method} ${path}`, { code: 'unknown_url' }));
    if (request.method !== 'POST') return errorResponse(new ApiError(405, 'invalid_request_error', `chat/completions takes POST, not ${request.method}`, { code: 'method_not_allowed' }));
    let body: unknown;
    try {
      body = JSON.parse(await request.text());
    } catch {
      return errorResponse(ApiError.invalid('We could not parse the JSON body of your request: it is not valid JSON.', null, 'invalid_json'));
    }
    let answer: Awaited<ReturnType<TwinmergeEngine['chat']['completions']['create']>>;
    try {
      answer = await engine.chat.completions.create(body as ChatCompletionRequest, { signal });
    } catch (e) {
      if (signal.aborted) throw abortReason(signal);
      return errorResponse(e);
    }
    if (!(Symbol.asyncIterator in answer)) {
      if (signal.aborted) throw abortReason(signal);
      return json(200, answer);
    }
    return new Response(sse(answer, signal), { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } });
  };
}

/** The chunks as server-sent events; an error after the first chunk is sent as an `error` event, as OpenAI does. */
function sse(chunks: AsyncIterable<unknown>, signal: AbortSignal): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const it = chunks[Symbol.asyncIterator]();
  const event = (data: unknown) => encoder.encode(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  let closed = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      // Like fetch: an abort errors the body (the engine ends the answer through the same signal).
      signal.addEventListener(
        'abort',
        () => {
          if (closed) return;
          closed = true;
          controller.error(abortReason(signal));
        },
        { once: true },
      );
    },
    async pull(controller) {
      try {
        const r = await it.next();
        if (closed) return;
        if (r.done) {
          controller.enqueue(event('[DONE]'));
          closed = true;
          controller.close();
        } else controller.enqueue(event(r.value));
      } catch (e) {
        if (closed) return;
        controller.enqueue(event(toApiError(e).toJSON()));
        closed = true;
        controller.close();
      }
    },
    async cancel() {
      closed = true;
      await it.return?.();
    },
  });
}
