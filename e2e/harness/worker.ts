// Runs in Chromium: the UI side of the worker protocol (EngineClient), without React.
import { EngineClient } from '../../src/ui/engineClient.ts';
import { DEFAULT_SETTINGS, type WorkerEvent } from '../../src/worker/protocol.ts';

const client = EngineClient.create();
const settings = { ...DEFAULT_SETTINGS, maxNewTokens: 2 };

const api = {
  async notLoaded() {
    return client.request({ type: 'memory' }).then(
      () => 'no error',
      (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
    );
  },
  async load(url: string) {
    const stages: string[] = [];
    const r = await client.request({ type: 'load', url, preference: 'auto' }, (e: WorkerEvent) => {
      if (e.type === 'load-progress' && stages.at(-1) !== e.progress.stage) stages.push(e.progress.stage);
    });
    return { stages, experts: r.bundle.experts.map((x) => x.id), backend: r.bundle.backend.kind };
  },
  async route(text: string) {
    return (await client.request({ type: 'route', text, settings })).routing;
  },
  async setEnabled(expertId: string, enabled: boolean) {
    return (await client.request({ type: 'set-expert-enabled', expertId, enabled })).experts.map((e) => [e.id, e.enabled]);
  },
  /** n route+compose+generate cycles over alternating prompts; memory after the first and the last. */
  async cycles(prompts: string[], n: number) {
    const reports = [];
    for (let i = 0; i < n; i++) {
      const r = await client.request({ type: 'generate', history: [{ role: 'user', content: prompts[i % prompts.length]! }], settings, variant: { kind: 'twin' } });
      if (i === 0 || i === n - 1) reports.push({ cycle: i, memory: (await client.request({ type: 'memory' })).memory, routing: r.result.routing, timings: r.result.timings });
    }
    return reports;
  },
  async cancelMidway(prompt: string) {
    let tokens = 0;
    const req = client.send({ type: 'generate', history: [{ role: 'user', content: prompt }], settings: { ...settings, maxNewTokens: 200 }, variant: { kind: 'static' } }, (e) => {
      if (e.type === 'token' && ++tokens === 2) void client.request({ type: 'cancel', target: req.id });
    });
    const r = await req.done;
    return { finishReason: r.result.finishReason, tokens };
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
    const before = (await client.request({ type: 'generate', history: [{ role: 'user', content: prompt }], settings: { ...settings, maxNewTokens: 8 }, variant: { kind: 'twin' } })).result.text;
    await client.request({ type: 'simulate-device-loss' });
    await restarted;
    const after = (await client.request({ type: 'generate', history: [{ role: 'user', content: prompt }], settings: { ...settings, maxNewTokens: 8 }, variant: { kind: 'twin' } })).result.text;
    return { before, after, notices };
  },
  async inspectGarbage() {
    return client.request({ type: 'inspect-expert', files: [{ name: 'x.safetensors', bytes: new Uint8Array([1, 2, 3]) }] }).then(
      () => 'no error',
      (e: { code?: string; file?: string; message?: string }) => ({ code: e.code, file: e.file, message: e.message }),
    );
  },
};

(window as unknown as { workerHarness: typeof api }).workerHarness = api;
document.body.dataset.ready = 'true';
