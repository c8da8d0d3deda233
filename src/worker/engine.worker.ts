/// <reference lib="webworker" />
// The engine worker: owns the GPU device, the ORT session, the composer, the router and the
// tokenizer. Model work never runs on the UI thread; everything arrives and leaves as the typed
// messages of protocol.ts.
import { probeBackend } from '../runtime/backendProbe.ts';
import { TwinSession, type SessionExpert } from '../runtime/twin/session.ts';
import { checkBrowserBundle, openBrowserSession } from '../runtime/twin/browserSession.ts';
import type { BackendPreference, ExpertInfo, LoadExtras, RouterParameters, WorkerError, WorkerRequest, WorkerRequestBody, WorkerResponse } from './protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

let session: TwinSession | null = null;
let loaded: { url: string; preference: BackendPreference; extras: LoadExtras } | null = null;
/** What the user added, replayed when the session has to be rebuilt (device loss). */
const customInputs = new Map<string, Extract<WorkerRequestBody, { type: 'add-expert' }>>();
const running = new Map<number, AbortController>();
/** One model operation at a time: requests queue here in arrival order. */
let queue: Promise<unknown> = Promise.resolve();
/** Set when a loss is simulated: a destroyed device normally means we disposed it on purpose. */
let simulatingLoss = false;

function reply(msg: WorkerResponse): void {
  scope.postMessage(msg);
}

function toError(e: unknown): WorkerError {
  const x = e as { code?: unknown; file?: unknown; tensor?: unknown; message?: unknown; name?: unknown };
  const code = typeof x?.code === 'string' ? x.code : typeof x?.name === 'string' && x.name !== 'Error' ? x.name : 'INTERNAL';
  return {
    code,
    message: e instanceof Error ? e.message : String(e),
    ...(typeof x?.file === 'string' ? { file: x.file } : {}),
    ...(typeof x?.tensor === 'string' ? { tensor: x.tensor } : {}),
  };
}

function expertInfo(e: SessionExpert): ExpertInfo {
  return {
    id: e.id,
    name: e.name,
    description: e.description,
    rank: e.rank,
    bytes: e.bytes,
    origin: e.origin,
    format: e.format,
    enabled: e.enabled,
    examplePrompts: e.examplePrompts,
    // A PEFT adapter's own weights are base + adapter, which the composer rebuilds (shared − D + adapter).
    hasFullWeights: e.fullWeightsFile !== undefined || e.format === 'peft',
  };
}

/** Every router parameter as plain numbers, and the SHA-256 of all their bytes (diagnostics). */
async function routerParameters(m: ReturnType<TwinSession['routerModel']>): Promise<RouterParameters> {
  const arrays = [m.mean, m.std, ...m.layers.flatMap((l) => [l.W, l.b])];
  const all = new Uint8Array(arrays.reduce((s, a) => s + a.byteLength, 0));
  let at = 0;
  for (const a of arrays) {
    all.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
  return {
    inputSize: m.inputSize,
    hidden: [...m.hidden],
    numClasses: m.numClasses,
    activation: m.activation,
    sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''),
    mean: Array.from(m.mean),
    std: Array.from(m.std),
    layers: m.layers.map((l) => ({ W: Array.from(l.W), b: Array.from(l.b) })),
  };
}

function need(): TwinSession {
  if (!session) throw Object.assign(new Error('No bundle is loaded yet.'), { code: 'NOT_READY' });
  return session;
}

async function open(url: string, preference: BackendPreference, id: number, extras: LoadExtras, beforeAllocate?: () => Promise<void>): Promise<TwinSession> {
  const s = await openBrowserSession(url, preference, (progress) => reply({ id, type: 'load-progress', progress }), { ...extras, ...(beforeAllocate ? { beforeAllocate } : {}) });
  const device = s.gpuDevice;
  device?.lost.then((info) => {
    if (session !== s || (info.reason === 'destroyed' && !simulatingLoss)) return;
    simulatingLoss = false;
    void recover(info.message || (info.reason === 'destroyed' ? 'simulated' : ''));
  });
  return s;
}

/** The GPU device was lost: rebuild the session (a new device, or WASM) and put the user's experts back. */
async function recover(why: string): Promise<void> {
  if (!loaded) return;
  reply({ id: 0, type: 'notice', level: 'warning', message: `The GPU device was lost (${why || 'no reason given'}); restarting the engine…` });
  const old = session;
  session = null;
  void old?.dispose().catch(() => undefined);
  queue = queue.then(async () => {
    try {
      let s: TwinSession;
      try {
        s = await open(loaded!.url, loaded!.preference, 0, loaded!.extras);
      } catch {
        s = await open(loaded!.url, 'wasm', 0, loaded!.extras);
      }
      for (const r of customInputs.values()) {
        await s.addExpert({ id: r.expertId, name: r.name, description: r.description, examplePrompts: r.examplePrompts, files: r.files, ...(r.features ? { features: r.features } : {}) }).catch(() => customInputs.delete(r.expertId));
      }
      session = s;
      reply({ id: 0, type: 'notice', level: 'info', message: `Engine restarted on ${s.backend.kind === 'webgpu' ? 'a new WebGPU device' : 'WASM'}; the conversation continues.`, backend: s.backend });
    } catch (e) {
      reply({ id: 0, type: 'notice', level: 'warning', message: `The engine could not be restarted: ${toError(e).message}` });
    }
  });
}

async function handle(req: WorkerRequest): Promise<void> {
  switch (req.type) {
    case 'probe':
      return reply({ id: req.id, type: 'probe-result', backend: await probeBackend(req.preference) });
    case 'load': {
      const extras: LoadExtras = { ...(req.wasmPaths ? { wasmPaths: req.wasmPaths } : {}), ...(req.withBaseDelta ? { withBaseDelta: true } : {}) };
      // The loaded bundle stays until the new one is downloaded and checked: a wrong URL, a bundle
      // that does not fit or a broken download leaves it as it was.
      session = await open(req.url, req.preference, req.id, extras, async () => {
        const old = session;
        session = null;
        await old?.dispose();
      });
      loaded = { url: req.url, preference: req.preference, extras };
      customInputs.clear();
      return reply({ id: req.id, type: 'loaded', bundle: bundleInfo(session) });
    }
    case 'check-bundle': {
      const c = await checkBrowserBundle(req.url, req.preference);
      const { spec, parameters, totalBytes, loadBytes, largestWeight } = c.plan;
      const model = { type: spec.family, parameters, layers: spec.numLayers, hiddenSize: spec.hiddenSize, vocabSize: spec.vocabSize };
      return reply({ id: req.id, type: 'bundle-checked', check: { url: c.url, backend: c.backend, createdBy: c.createdBy, experts: c.experts, model, totalBytes, loadBytes, memory: c.memory, largestWeight, deviceBufferLimit: c.deviceBufferLimit, problem: c.problem } });
    }
    case 'generate': {
      const s = need();
      const ac = new AbortController();
      running.set(req.id, ac);
      try {
        const result = await s.generate(req.history, req.settings, req.variant, (e) => reply({ id: req.id, ...e }), ac.signal);
        return reply({ id: req.id, type: 'generated', result: { ...result, variant: req.variant } });
      } finally {
        running.delete(req.id);
      }
    }
    case 'route': {
      const r = await need().route(req.text, req.settings);
      return reply({ id: req.id, type: 'routing', routing: r.routing, routeMs: r.routeMs });
    }
    case 'inspect-expert': {
      const m = await need().inspect(req.files);
      return reply({ id: req.id, type: 'inspected', expert: { format: m.format, rank: m.rank, bytes: m.bytes, tensors: m.tensors, id: '', warnings: m.warnings, ...m.suggestions } });
    }
    case 'add-expert': {
      const s = need();
      const input = { id: req.expertId, name: req.name, description: req.description, examplePrompts: req.examplePrompts, files: req.files, ...(req.features ? { features: req.features } : {}) };
      const added = await s.addExpert(input, (progress) => reply({ id: req.id, type: 'add-progress', progress }));
      // A checkpoint is kept as its extracted module: a device-loss rebuild re-adds it without extracting again.
      customInputs.set(req.expertId, { ...req, ...(added.moduleFile ? { files: [added.moduleFile] } : {}), features: added.features });
      return reply({ id: req.id, type: 'experts', experts: s.listExperts().map(expertInfo), trainMs: added.trainMs, added: { totalMs: added.totalMs, trainMs: added.trainMs, reusedFeatures: added.reusedFeatures, features: added.features, extractMs: added.extractMs, ...(added.moduleFile ? { moduleFile: added.moduleFile } : {}) } });
    }
    case 'remove-expert': {
      const s = need();
      s.removeExpert(req.expertId);
      customInputs.delete(req.expertId);
      return reply({ id: req.id, type: 'experts', experts: s.listExperts().map(expertInfo), trainMs: 0 });
    }
    case 'set-expert-enabled': {
      const s = need();
      s.setEnabled(req.expertId, req.enabled);
      return reply({ id: req.id, type: 'experts', experts: s.listExperts().map(expertInfo), trainMs: 0 });
    }
    case 'memory':
      return reply({ id: req.id, type: 'memory-report', memory: need().memory() });
    case 'router-parameters':
      return reply({ id: req.id, type: 'router-snapshot', router: await routerParameters(need().routerModel()) });
    case 'simulate-device-loss': {
      const device = need().gpuDevice;
      if (!device) throw Object.assign(new Error('There is no GPU device to lose: the engine runs on WASM.'), { code: 'NO_DEVICE' });
      simulatingLoss = true;
      device.destroy();
      return reply({ id: req.id, type: 'ok' });
    }
    case 'cancel':
      running.get(req.target)?.abort();
      return reply({ id: req.id, type: 'ok' });
  }
}

function bundleInfo(s: TwinSession) {
  const m = s.manifest;
  return {
    url: s.url,
    name: m.createdBy,
    backend: s.backend,
    experts: s.listExperts().map(expertInfo),
    mergeMethod: m.merge.method,
    lambda: m.merge.lambda,
    memory: s.memory(),
  };
}

scope.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const req = event.data;
  const run = async () => {
    try {
      await handle(req);
    } catch (e) {
      reply({ id: req.id, type: 'error', error: toError(e) });
    }
  };
  // Cancel and probe must not wait behind a running generation.
  if (req.type === 'cancel' || req.type === 'probe') void run();
  else queue = queue.then(run);
};
