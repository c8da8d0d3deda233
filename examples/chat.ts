// The smallest page that embeds twinmerge: load the demo bundle, stream one answer at a time.
// In your own project: `import { createEngine } from 'twinmerge'` (docs/api.md).
import { createEngine } from '../src/api/index.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>('status');
const progress = $<HTMLProgressElement>('progress');
const prompt = $<HTMLInputElement>('prompt');
const send = $<HTMLButtonElement>('send');
const answer = $<HTMLDivElement>('answer');
const routing = $<HTMLParagraphElement>('routing');

const engine = await createEngine({
  bundle: new URLSearchParams(location.search).get('bundle') ?? '/models/bundle',
  onProgress: (p) => {
    status.textContent = `Loading the model: ${p.stage}…`;
    if (p.totalBytes > 0) progress.value = p.loadedBytes / p.totalBytes;
  },
}).catch((e: unknown) => {
  status.textContent = `The model could not be loaded: ${e instanceof Error ? e.message : String(e)}`;
  throw e;
});

progress.hidden = true;
status.textContent = `Ready on ${engine.backend?.kind ?? '?'}: ${engine.experts.list().map((e) => e.name).join(', ')}.`;
prompt.disabled = send.disabled = false;

$<HTMLFormElement>('ask').addEventListener('submit', async (event) => {
  event.preventDefault();
  send.disabled = true;
  answer.textContent = '';
  routing.textContent = '';
  try {
    const stream = await engine.chat.completions.create({ messages: [{ role: 'user', content: prompt.value }], stream: true });
    for await (const chunk of stream) {
      answer.textContent += chunk.choices[0]?.delta.content ?? '';
      // twinmerge's extension: the router's weights (first chunk) and the timings (last chunk).
      const ext = chunk.twinmerge;
      if (ext) {
        const ranked = Object.entries(ext.routing).sort((a, b) => b[1] - a[1]).filter(([, w]) => w >= 0.005);
        routing.textContent = `Routed to ${ranked.map(([id, w]) => `${id} ${(w * 100).toFixed(1)}%`).join(' · ') || 'no expert (the shared model alone)'}`;
      }
      if (chunk.choices[0]?.finish_reason) answer.dataset.finish = chunk.choices[0].finish_reason;
    }
  } catch (e) {
    answer.textContent = `Error: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    send.disabled = false;
  }
});
