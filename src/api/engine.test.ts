// The public API (TwinmergeEngine, engineFetch) in Node, over a scripted worker that answers like a
// tiny echo model: the OpenAI shapes it returns, how a request maps onto the engine's settings, the
// errors in OpenAI's shape, abort, and the official `openai` client talking to it through
// engineFetch. The real worker and model run behind the same API in Chromium: e2e/api.spec.ts.
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { ScriptedWorker } from '../testing/scriptedWorker.ts';
import { DEFAULT_SETTINGS, type ExpertInfo, type GenerationSettings, type WorkerRequest } from '../worker/protocol.ts';
import { ApiError } from './apiError.ts';
import type { ChatCompletionChunk } from './chatResponse.ts';
import { TwinmergeEngine } from './engine.ts';
import { engineFetch } from './engineFetch.ts';

const expert = (id: string, hasFullWeights: boolean): ExpertInfo => ({ id, name: id.toUpperCase(), description: '', rank: 4, bytes: 1, origin: 'bundle', format: 'twinmerge', enabled: true, examplePrompts: [], hasFullWeights });
const memory = { shared: 1, composed: 2, experts: 3, router: 0, kvCache: 4, buffers: 5, deviceBuffers: 6, deviceBytes: 7 };

/**
 * The echo model: answers `echo:<last user message>` one character per token, up to maxNewTokens
 * characters ('length'), else 'eos'; a generation whose prompt starts with "wait" sends one token
 * and then waits for its cancel ('aborted').
 */
function echoWorker(): ScriptedWorker {
  const waiting = new Map<number, string>();
  return new ScriptedWorker((req: WorkerRequest, reply) => {
    switch (req.type) {
      case 'load':
        return reply({ id: req.id, type: 'loaded', bundle: { url: req.url, name: 'demo', backend: { kind: 'wasm', reason: 'test', threads: 1 }, experts: [expert('add', true), expert('help', false)], mergeMethod: 'task_arithmetic', lambda: 0.2, memory } });
      case 'generate': {
        const routing = req.variant.kind === 'twin' ? { add: 0.75, help: 0.25 } : req.variant.kind === 'expert' ? { [req.variant.expertId]: 1 } : {};
        reply({ id: req.id, type: 'routed', routing, routeMs: 1, composeMs: 2 });
        const prompt = req.history.at(-1)!.content;
        const timings = (n: number) => ({ routeMs: 1, composeMs: 2, firstTokenMs: 3, tokensPerSecond: 4, promptTokens: prompt.length + 2, generatedTokens: n });
        if (prompt.startsWith('wait')) {
          reply({ id: req.id, type: 'token', textDelta: 'w' });
          waiting.set(req.id, 'w');
          return;
        }
        const full = `echo:${prompt}`;
        const text = full.slice(0, req.settings.maxNewTokens);
        for (const ch of text) reply({ id: req.id, type: 'token', textDelta: ch });
        return reply({ id: req.id, type: 'generated', result: { text, finishReason: text.length < full.length ? 'length' : 'eos', routing, droppedTurns: 0, tokenIds: [...text].map((c) => c.charCodeAt(0)), timings: timings(text.length), variant: req.variant } });
      }
      case 'cancel': {
        reply({ id: req.id, type: 'ok' });
        const text = waiting.get(req.target);
        if (text === undefined) return;
        waiting.delete(req.target);
        return reply({ id: req.target, type: 'generated', result: { text, finishReason: 'aborted', routing: { add: 1 }, droppedTurns: 0, tokenIds: [...text].map((c) => c.charCodeAt(0)), timings: { routeMs: 1, composeMs: 2, firstTokenMs: 3, tokensPerSecond: 4, promptTokens: 5, generatedTokens: 1 }, variant: { kind: 'twin' } } });
      }
      default:
    }
  });
}

async function loaded(): Promise<{ engine: TwinmergeEngine; w: ScriptedWorker }> {
  const w = echoWorker();
  const engine = TwinmergeEngine.start({ worker: w.asWorker });
  await engine.load('/models/bundle');
  return { engine, w };
}

const settingsOf = (w: ScriptedWorker): GenerationSettings => (w.posted.filter((m) => m.type === 'generate').at(-1) as Extract<WorkerRequest, { type: 'generate' }>).settings;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ApiError);
  return e as ApiError;
}

describe('TwinmergeEngine: chat.completions.create', () => {
  it('answers in OpenAI’s chat.completion shape, with the routing and timings in the twinmerge field', async () => {
    const { engine } = await loaded();
    const r = await engine.chat.completions.create({ model: 'twin', messages: [{ role: 'user', content: '12 + 30' }] });
    expect(r).toMatchObject({
      object: 'chat.completion',
      model: 'twin',
      system_fingerprint: 'twinmerge:demo',
      choices: [{ index: 0, message: { role: 'assistant', content: 'echo:12 + 30', refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
      twinmerge: { routing: { add: 0.75, help: 0.25 }, variant: { kind: 'twin' } },
    });
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(r.created).toBeGreaterThan(1.7e9);
  });

  it('maps OpenAI’s parameters and the twinmerge extension onto the engine’s settings; system messages are not sent', async () => {
    const { engine, w } = await loaded();
    await engine.chat.completions.create({ messages: [{ role: 'user', content: 'hi' }] });
    expect(settingsOf(w)).toEqual(DEFAULT_SETTINGS);
    const r = await engine.chat.completions.create({
      model: 'static',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [{ type: 'text', text: 'sec' }, { type: 'text', text: 'ond' }] },
      ],
      temperature: 0.7,
      top_p: 0.9,
      max_tokens: 6,
      seed: 7,
      stop: ['\n', 'END'],
      twinmerge: { top_k: 5, routing_temperature: 0.5, routing_top_k: 2 },
    });
    expect(settingsOf(w)).toEqual({ temperature: 0.7, topP: 0.9, topK: 5, maxNewTokens: 6, routingTemperature: 0.5, routingTopK: 2, seed: 7, stop: ['\n', 'END'] });
    const posted = w.posted.at(-1) as Extract<WorkerRequest, { type: 'generate' }>;
    expect(posted.history).toEqual([
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'second' },
    ]);
    expect(posted.variant).toEqual({ kind: 'static' });
    expect(r.choices[0]!.message.content).toBe('echo:s');
    expect(r.choices[0]!.finish_reason).toBe('length');
    // max_completion_tokens (OpenAI's newer name) wins over max_tokens.
    await engine.chat.completions.create({ messages: [{ role: 'user', content: 'x' }], max_tokens: 3, max_completion_tokens: 4 });
    expect(settingsOf(w).maxNewTokens).toBe(4);
  });

  it('streams chunks: the routing first, one delta per token, then the finish reason with the timings (and usage when asked)', async () => {
    const { engine } = await loaded();
    const chunks = await collect(await engine.chat.completions.create({ model: 'expert:add', messages: [{ role: 'user', content: 'ab' }], stream: true, stream_options: { include_usage: true } }));
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]!.id && c.model === 'expert:add')).toBe(true);
    expect(chunks[0]!.choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null });
    expect(chunks[0]!.twinmerge).toEqual({ routing: { add: 1 }, routeMs: 1, composeMs: 2 });
    const deltas = chunks.slice(1, -2).map((c) => c.choices[0]!.delta.content);
    expect(deltas.join('')).toBe('echo:ab');
    const last = chunks.at(-2)!;
    expect(last.choices[0]!.finish_reason).toBe('stop');
    expect(last.twinmerge).toMatchObject({ routing: { add: 1 }, variant: { kind: 'expert', expertId: 'add' }, timings: { generatedTokens: 7 } });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 7, total_tokens: 11 } });
  });

  it('rejects what it cannot honour with OpenAI’s error shape, naming the parameter', async () => {
    const { engine } = await loaded();
    const create = (body: object) => apiError(engine.chat.completions.create(body as never));
    const unknown = await create({ messages: [{ role: 'user', content: 'x' }], tools: [] });
    expect(unknown.toJSON()).toEqual({ error: { message: 'Unrecognized request argument supplied: tools', type: 'invalid_request_error', param: 'tools', code: 'unrecognized_argument' } });
    expect(unknown.status).toBe(400);
    expect(await create({ messages: [{ role: 'user', content: 'x' }], temperature: 3 })).toMatchObject({ status: 400, param: 'temperature' });
    expect(await create({ messages: [{ role: 'user', content: 'x' }], n: 2 })).toMatchObject({ param: 'n', message: expect.stringContaining('n must be 1') });
    expect(await create({ messages: [] })).toMatchObject({ param: 'messages' });
    expect(await create({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] })).toMatchObject({ status: 400, param: 'messages[0].content' });
    expect(await create({ messages: [{ role: 'tool', content: 'x', tool_call_id: '1' }] })).toMatchObject({ status: 400, param: 'messages[0].role' });
    expect(await create({ messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }] })).toMatchObject({ status: 400, param: 'messages' });
    expect(await create({ messages: [{ role: 'user', content: 'x' }], frequency_penalty: 0.5 })).toMatchObject({ param: 'frequency_penalty' });
    expect(await create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
    const noWeights = await create({ model: 'expert:help', messages: [{ role: 'user', content: 'x' }] });
    expect(noWeights).toMatchObject({ status: 404, code: 'model_not_found', message: expect.stringContaining("does not ship HELP's full weights") });
  });

  it('abort() and the request’s signal end answers with finish_reason abort and the text so far', async () => {
    const { engine } = await loaded();
    const stream = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'wait' }], stream: true });
    const seen: ChatCompletionChunk[] = [];
    for await (const c of stream) {
      seen.push(c);
      if (c.choices[0]?.delta.content === 'w') engine.abort();
    }
    expect(seen.at(-1)!.choices[0]!.finish_reason).toBe('abort');
    const ac = new AbortController();
    const pending = engine.chat.completions.create({ messages: [{ role: 'user', content: 'wait' }] }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 10);
    const r = await pending;
    expect(r.choices[0]).toMatchObject({ message: { content: 'w' }, finish_reason: 'abort' });
  });

  it('models.list names twin, static and the experts with full weights; unload stops the worker', async () => {
    const { engine, w } = await loaded();
    expect((await engine.models.list()).data.map((m) => m.id)).toEqual(['twin', 'static', 'expert:add']);
    expect(engine.experts.list().map((e) => e.id)).toEqual(['add', 'help']);
    engine.unload();
    expect(w.terminated).toBe(true);
    expect(await apiError(engine.chat.completions.create({ messages: [{ role: 'user', content: 'x' }] }))).toMatchObject({ status: 503, code: 'UNLOADED' });
  });

  it('before a bundle is loaded, a request is a 503 saying so', async () => {
    const engine = TwinmergeEngine.start({ worker: echoWorker().asWorker });
    expect(await apiError(engine.chat.completions.create({ messages: [{ role: 'user', content: 'x' }] }))).toMatchObject({ status: 503, code: 'NOT_READY' });
  });
});

describe('engineFetch: the official openai client against the engine', () => {
  const openai = (engine: TwinmergeEngine) => new OpenAI({ apiKey: 'unused', baseURL: 'https://twinmerge.local/v1', fetch: engineFetch(engine), maxRetries: 0 });

  it('gets a non-streamed and a streamed completion, and the model list', async () => {
    const { engine } = await loaded();
    const client = openai(engine);
    const r = await client.chat.completions.create({ model: 'twin', messages: [{ role: 'user', content: '40 + 2' }], max_tokens: 20 });
    expect(r.choices[0]!.message.content).toBe('echo:40 + 2');
    expect((r as unknown as { twinmerge: { routing: Record<string, number> } }).twinmerge.routing).toEqual({ add: 0.75, help: 0.25 });
    const stream = await client.chat.completions.create({ model: 'twin', messages: [{ role: 'user', content: 'hey' }], stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe('echo:hey');
    expect(finish).toBe('stop');
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['twin', 'static', 'expert:add']);
  });

  it('validation errors reach the client as OpenAI errors with status, param and code', async () => {
    const { engine } = await loaded();
    const err = await openai(engine)
      .chat.completions.create({ model: 'twin', messages: [{ role: 'user', content: 'x' }], temperature: 9 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, param: 'temperature', code: 'invalid_value', type: 'invalid_request_error' });
    const missing = await openai(engine)
      .chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('plain fetch: bad JSON is a 400, an unknown route a 404, both in OpenAI’s shape', async () => {
    const { engine } = await loaded();
    const f = engineFetch(engine);
    const bad = await f('https://x/v1/chat/completions', { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json' } });
    const unknown = await f('https://x/v1/embeddings', { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { type: 'not_found_error' } });
  });

  it('an aborted request rejects like fetch does, and ends the answer in the engine', async () => {
    const { engine, w } = await loaded();
    const ac = new AbortController();
    const res = await engineFetch(engine)('https://x/v1/chat/completions', { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'wait' }], stream: true }), signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
    await new Promise((r) => setTimeout(r, 20));
    expect(w.posted.map((m) => m.type)).toContain('cancel');
  });
});
