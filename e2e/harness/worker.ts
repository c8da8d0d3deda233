// Runs in Chromium: the UI side of the worker protocol (the EngineClient facade), without React.
import { EngineClient } from '../../src/api/engineClient.ts';
import { DEFAULT_SETTINGS } from '../../src/worker/protocol.ts';

const client = EngineClient.create();
const settings = { ...DEFAULT_SETTINGS, maxNewTokens: 2 };

const api = {
  async notLoaded() {
    return client.memory().then(
      () => 'no error',
      (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
    );
  },
  async load(url: string) {
    const stages: string[] = [];
    const bundle = await client.load(url, 'auto', (p) => {
      if (stages.at(-1) !== p.stage) stages.push(p.stage);
    });
    return { stages, experts: bundle.experts.map((x) => x.id), backend: bundle.backend.kind };
  },
  async route(text: string) {
    return (await client.route(text, settings)).routing;
  },
  async setEnabled(expertId: string, enabled: boolean) {
    return (await client.experts.setEnabled(expertId, enabled)).experts.map((e) => [e.id, e.enabled]);
  },
  /**
   * n route+compose+generate cycles over alternating prompts; memory once every prompt has run once
   * (onnxruntime keeps buffers per shape it has seen: a new prompt length may add one) and after the last.
   */
  async cycles(prompts: string[], n: number) {
    const reports = [];
    for (let i = 0; i < n; i++) {
      const r = await client.answer([{ role: 'user', content: prompts[i % prompts.length]! }], settings, { kind: 'twin' });
      if (i === prompts.length - 1 || i === n - 1) reports.push({ cycle: i, memory: await client.memory(), routing: r.routing, timings: r.timings });
    }
    return reports;
  },
  /** Aborts a generation after its second token: the stream still ends with the (aborted) result. */
  async cancelMidway(prompt: string) {
    let tokens = 0;
    const stop = new AbortController();
    const r = await client.answer([{ role: 'user', content: prompt }], { ...settings, maxNewTokens: 200 }, { kind: 'static' }, {
      signal: stop.signal,
      onEvent: (e) => {
        if (e.type === 'token' && ++tokens === 2) stop.abort();
      },
    });
    return { finishReason: r.finishReason, tokens };
  },
  /** Loses the GPU device on purpose and waits for the worker to say it restarted; then answers again. */
  async deviceLoss(prompt: string) {
    const notices: string[] = [];
    const restarted = new Promise<void>((resolve) => {
      client.onNotice = (n) => {
        notices.push(n.message);
        if (/restarted/.test(n.message)) resolve();
      };
    });
    const before = (await client.answer([{ role: 'user', content: prompt }], { ...settings, maxNewTokens: 8 }, { kind: 'twin' })).text;
    await client.diagnostics.simulateDeviceLoss();
    await restarted;
    const after = (await client.answer([{ role: 'user', content: prompt }], { ...settings, maxNewTokens: 8 }, { kind: 'twin' })).text;
    return { before, after, notices };
  },
  async inspectGarbage() {
    return client.inspect([{ name: 'x.safetensors', bytes: new Uint8Array([1, 2, 3]) }]).then(
      () => 'no error',
      (e: { code?: string; file?: string; message?: string }) => ({ code: e.code, file: e.file, message: e.message }),
    );
  },
};

(window as unknown as { workerHarness: typeof api }).workerHarness = api;
document.body.dataset.ready = 'true';
