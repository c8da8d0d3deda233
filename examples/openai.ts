// Code written for OpenAI, running against twinmerge in the page: the official `openai` client gets
// a custom fetch (engineFetch) that hands its requests to the engine. Nothing leaves the browser.
import OpenAI from 'openai';
import { createEngine, engineFetch } from '../src/api/index.ts';

const status = document.getElementById('status')!;
const log = document.getElementById('log')!;

const engine = await createEngine({ bundle: '/models/bundle', onProgress: (p) => (status.textContent = `Loading the model: ${p.stage}…`) });
const client = new OpenAI({ apiKey: 'not-needed', baseURL: `${location.origin}/v1`, fetch: engineFetch(engine), dangerouslyAllowBrowser: true, maxRetries: 0 });

/** One question, answered twice: a whole completion, then the same streamed. */
async function ask(content: string, options: { model?: string; temperature?: number } = {}) {
  const messages = [{ role: 'user' as const, content }];
  const whole = await client.chat.completions.create({ model: options.model ?? 'twin', messages, ...(options.temperature !== undefined ? { temperature: options.temperature } : {}) });
  let streamed = '';
  let chunks = 0;
  let finish: string | null = null;
  const stream = await client.chat.completions.create({ model: options.model ?? 'twin', messages, stream: true });
  for await (const c of stream) {
    chunks++;
    streamed += c.choices[0]?.delta.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  const result = { whole: whole.choices[0]?.message.content ?? '', finish: whole.choices[0]?.finish_reason, usage: whole.usage, streamed, chunks, streamFinish: finish };
  log.textContent += `> ${content}\n${JSON.stringify(result, null, 2)}\n`;
  return result;
}

/** What an OpenAI error looks like to the client, for a request twinmerge cannot honour. */
async function askBadly() {
  try {
    await client.chat.completions.create({ model: 'twin', messages: [{ role: 'user', content: 'x' }], n: 3 });
    return null;
  } catch (e) {
    if (e instanceof OpenAI.APIError) return { name: e.constructor.name, status: e.status, param: e.param, code: e.code, message: e.message };
    throw e;
  }
}

Object.assign(window, { ask, askBadly, engine });
status.textContent = `Ready on ${engine.backend?.kind ?? '?'}. Try: await ask('Reverse cat')`;
document.body.dataset.ready = 'true';
