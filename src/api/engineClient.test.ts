// The worker transport (EngineClient) against a scripted stand-in for the worker: the messages it posts, the
// typed results and event streams it returns, cancel through AbortSignal, errors.
import { describe, expect, it } from 'vitest';
import { ScriptedWorker, type WorkerScript } from '../testing/scriptedWorker.ts';
import { DEFAULT_SETTINGS, type ExpertInfo, type GenerationDone, type WorkerRequest, type WorkerResponse } from '../worker/protocol.ts';
import { EngineClient, EngineError, type CompareStep, type GenerateEvent } from './engineClient.ts';

function client(script: WorkerScript): { c: EngineClient; w: ScriptedWorker } {
  const w = new ScriptedWorker(script);
  return { c: new EngineClient(w.asWorker), w };
}

const done = (text: string, finishReason = 'eos', routing: Record<string, number> = {}): GenerationDone => ({
  text,
  finishReason,
  tokenIds: [],
  routing,
  droppedTurns: 0,
  variant: { kind: 'twin' },
  timings: { routeMs: 1, composeMs: 2, firstTokenMs: 3, tokensPerSecond: 4, promptTokens: 5, generatedTokens: 6 },
});

const expert = (id: string, hasFullWeights: boolean): ExpertInfo => ({ id, name: id, description: '', rank: 4, bytes: 1, origin: 'bundle', format: 'twinmerge', enabled: true, examplePrompts: [], hasFullWeights });

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('EngineClient', () => {
  it('streams a generation as routed, tokens, done, with the request it posts', async () => {
    const { c, w } = client((req, reply) => {
      if (req.type !== 'generate') return;
      reply({ id: req.id, type: 'routed', routing: { add: 1 }, routeMs: 1, composeMs: 2 });
      reply({ id: req.id, type: 'token', textDelta: '4' });
      reply({ id: req.id, type: 'token', textDelta: '2' });
      reply({ id: req.id, type: 'generated', result: done('42', 'eos', { add: 1 }) });
    });
    const history = [{ role: 'user' as const, content: '40 + 2' }];
    const events = await collect(c.generate(history, DEFAULT_SETTINGS, { kind: 'twin' }));
    expect(events.map((e) => e.type)).toEqual(['routed', 'token', 'token', 'done']);
    expect(events[0]).toEqual({ type: 'routed', routing: { add: 1 }, routeMs: 1, composeMs: 2 });
    expect((events[3] as Extract<GenerateEvent, { type: 'done' }>).result.text).toBe('42');
    expect(w.posted).toEqual([{ type: 'generate', history, settings: DEFAULT_SETTINGS, variant: { kind: 'twin' }, id: 1 }]);
  });

  it('aborting the signal posts a cancel for that generation; the stream still ends with the aborted result', async () => {
    const { c, w } = client((req, reply) => {
      if (req.type === 'generate') {
        reply({ id: req.id, type: 'token', textDelta: 'a' });
        reply({ id: req.id, type: 'token', textDelta: 'b' });
      } else if (req.type === 'cancel') {
        reply({ id: req.id, type: 'ok' });
        reply({ id: req.target, type: 'generated', result: done('ab', 'aborted') });
      }
    });
    const stop = new AbortController();
    let tokens = 0;
    const r = await c.answer([{ role: 'user', content: 'x' }], DEFAULT_SETTINGS, { kind: 'static' }, {
      signal: stop.signal,
      onEvent: (e) => {
        if (e.type === 'token' && ++tokens === 1) stop.abort();
      },
    });
    expect(r.finishReason).toBe('aborted');
    expect(w.posted.map((m) => m.type)).toEqual(['generate', 'cancel']);
    expect(w.posted[1]).toMatchObject({ type: 'cancel', target: w.posted[0]!.id });
  });

  it('leaving the loop early cancels the generation; finishing normally does not', async () => {
    const { c, w } = client((req, reply) => {
      if (req.type === 'generate') {
        reply({ id: req.id, type: 'token', textDelta: 'a' });
        reply({ id: req.id, type: 'generated', result: done('a') });
      } else if (req.type === 'cancel') reply({ id: req.id, type: 'ok' });
    });
    for await (const e of c.generate([{ role: 'user', content: 'x' }], DEFAULT_SETTINGS, { kind: 'twin' })) {
      expect(e.type).toBe('token');
      break;
    }
    expect(w.posted.map((m) => m.type)).toEqual(['generate', 'cancel']);
    await c.answer([{ role: 'user', content: 'x' }], DEFAULT_SETTINGS, { kind: 'twin' });
    expect(w.posted.map((m) => m.type)).toEqual(['generate', 'cancel', 'generate']);
  });

  it('a failed request throws an EngineError with the code, file and tensor, after the events that came first', async () => {
    const { c } = client((req, reply) => {
      if (req.type === 'generate') {
        reply({ id: req.id, type: 'token', textDelta: 'a' });
        reply({ id: req.id, type: 'error', error: { code: 'BOOM', message: 'it broke' } });
      } else if (req.type === 'inspect-expert') reply({ id: req.id, type: 'error', error: { code: 'BAD_FILE', message: 'x.safetensors: truncated', file: 'x.safetensors', tensor: 'w' } });
    });
    const seen: string[] = [];
    const err = await (async () => {
      try {
        for await (const e of c.generate([{ role: 'user', content: 'x' }], DEFAULT_SETTINGS, { kind: 'twin' })) seen.push(e.type);
      } catch (e) {
        return e;
      }
    })();
    expect(seen).toEqual(['token']);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('BOOM');
    const bad = await c.inspect([{ name: 'x.safetensors', bytes: new Uint8Array(3) }]).catch((e: unknown) => e);
    expect(bad).toMatchObject({ name: 'EngineError', code: 'BAD_FILE', file: 'x.safetensors', tensor: 'w' });
  });

  it('load reports progress and returns the bundle; experts, memory and diagnostics map to their requests', async () => {
    const memory = { shared: 1, composed: 2, experts: 3, router: 0, kvCache: 4, buffers: 5, deviceBuffers: 6, deviceBytes: 7 };
    const router = { inputSize: 1, hidden: [], numClasses: 1, activation: 'relu', sha256: 'ab', mean: [0], std: [1], layers: [{ W: [1], b: [0] }] };
    const { c, w } = client((req, reply) => {
      switch (req.type) {
        case 'load':
          reply({ id: req.id, type: 'load-progress', progress: { stage: 'manifest', loadedBytes: 0, totalBytes: 1 } });
          reply({ id: req.id, type: 'loaded', bundle: { url: req.url, name: 'n', backend: { kind: 'wasm', reason: 'r', threads: 1 }, experts: [], mergeMethod: 'm', lambda: 0.3, memory } });
          return;
        case 'add-expert':
          return reply({ id: req.id, type: 'experts', experts: [expert(req.expertId, false)], trainMs: 12 });
        case 'remove-expert':
        case 'set-expert-enabled':
          return reply({ id: req.id, type: 'experts', experts: [], trainMs: 0 });
        case 'memory':
          return reply({ id: req.id, type: 'memory-report', memory });
        case 'router-parameters':
          return reply({ id: req.id, type: 'router-snapshot', router });
        case 'simulate-device-loss':
          return reply({ id: req.id, type: 'ok' });
        default:
      }
    });
    const stages: string[] = [];
    const bundle = await c.load('/b', 'auto', (p) => stages.push(p.stage));
    expect(bundle.url).toBe('/b');
    expect(stages).toEqual(['manifest']);
    expect(await c.experts.add({ id: 'x', name: 'X', description: '', examplePrompts: ['a'], files: [] })).toEqual({ experts: [expert('x', false)], trainMs: 12 });
    await c.experts.setEnabled('x', false);
    await c.experts.remove('x');
    expect(await c.memory()).toEqual(memory);
    expect(await c.diagnostics.routerParameters()).toEqual(router);
    await c.diagnostics.simulateDeviceLoss();
    expect(w.posted.map(({ id: _, ...m }) => m)).toEqual([
      { type: 'load', url: '/b', preference: 'auto' },
      { type: 'add-expert', expertId: 'x', name: 'X', description: '', examplePrompts: ['a'], files: [] },
      { type: 'set-expert-enabled', expertId: 'x', enabled: false },
      { type: 'remove-expert', expertId: 'x' },
      { type: 'memory' },
      { type: 'router-parameters' },
      { type: 'simulate-device-loss' },
    ]);
  });

  it('compare answers twin, then the top expert with its own weights, then static; skips an expert without full weights', async () => {
    const script = (routing: Record<string, number>) => (req: WorkerRequest, reply: (m: WorkerResponse) => void) => {
      if (req.type !== 'generate') return;
      const text = req.variant.kind === 'expert' ? `expert:${req.variant.expertId}` : req.variant.kind;
      reply({ id: req.id, type: 'generated', result: done(text, 'eos', req.variant.kind === 'twin' ? routing : {}) });
    };
    const a = client(script({ add: 0.2, rev: 0.8 }));
    const steps = await collect(a.c.compare('p', DEFAULT_SETTINGS, [expert('add', true), expert('rev', true)]));
    expect(steps.map((s: CompareStep) => [s.column, 'result' in s ? s.result.text : s.skipped])).toEqual([
      ['twin', 'twin'],
      ['expert', 'expert:rev'],
      ['static', 'static'],
    ]);
    expect(a.w.posted.map((m) => (m.type === 'generate' ? m.variant : null))).toEqual([{ kind: 'twin' }, { kind: 'expert', expertId: 'rev' }, { kind: 'static' }]);

    const b = client(script({ rev: 1 }));
    const skipped = await collect(b.c.compare('p', DEFAULT_SETTINGS, [expert('rev', false)]));
    expect(skipped[1]).toEqual({ column: 'expert', expertId: 'rev', skipped: 'no-full-weights' });
    expect(b.w.posted).toHaveLength(2);

    const none = await collect(client(script({})).c.compare('p', DEFAULT_SETTINGS, []));
    expect(none[1]).toEqual({ column: 'expert', expertId: null, skipped: 'none-routed' });
  });

  it('notices reach onNotice; dispose rejects what is pending and stops the worker', async () => {
    const { c, w } = client((req, reply) => {
      if (req.type === 'probe') reply({ id: 0, type: 'notice', level: 'info', message: 'hello' });
    });
    const notices: string[] = [];
    c.onNotice = (n) => notices.push(n.message);
    const pending = c.probe('auto');
    await new Promise((r) => setTimeout(r, 5));
    expect(notices).toEqual(['hello']);
    c.dispose();
    await expect(pending).rejects.toMatchObject({ code: 'DISPOSED' });
    expect(w.terminated).toBe(true);
  });
});
