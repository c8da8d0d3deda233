// Runs in Chromium: one bundle through the engine worker (the app's path: download, compose on the
// GPU or CPU, onnxruntime-web), timing each load stage and answering greedily.
import { EngineClient } from '../../src/api/engineClient.ts';
import type { BackendPreference } from '../../src/runtime/backendProbe.ts';
import { DEFAULT_SETTINGS } from '../../src/worker/protocol.ts';
import { fetchDroppedFiles, toBase64 } from './droppedFiles.ts';

const client = EngineClient.create();

const api = {
  async load(url: string, preference: BackendPreference) {
    const t0 = performance.now();
    const stages: [string, number][] = [];
    const bundle = await client.load(url, preference, (p) => {
      if (stages.at(-1)?.[0] !== p.stage) stages.push([p.stage, Math.round(performance.now() - t0)]);
    });
    return { ms: performance.now() - t0, stages, backend: bundle.backend, memory: await client.memory() };
  },
  async answer(prompt: string, maxNewTokens: number) {
    const t0 = performance.now();
    const r = await client.answer([{ role: 'user', content: prompt }], { ...DEFAULT_SETTINGS, temperature: 0, maxNewTokens }, { kind: 'twin' });
    return { ms: performance.now() - t0, tokenIds: r.tokenIds, routing: r.routing, timings: r.timings, memory: await client.memory() };
  },
  /** Adds a checkpoint folder (its files by URL) as an expert: the worker extracts its module. */
  async addCheckpoint(urls: string[], id: string, examplePrompts: string[]) {
    const files = await fetchDroppedFiles(urls);
    const stages: string[] = [];
    const t0 = performance.now();
    const r = await client.experts.add({ id, name: id, description: 'a dropped checkpoint', examplePrompts, files }, { onProgress: (p) => stages.push(p.stage) });
    return { ms: performance.now() - t0, extractMs: r.added.extractMs, extractSteps: stages.filter((s) => s === 'extract').length, moduleBase64: toBase64(r.added.moduleFile!.bytes) };
  },
};
(window as unknown as { realsize: typeof api }).realsize = api;
document.body.dataset.ready = 'true';
