import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_FORMAT } from '../core/bundle/manifest.ts';
import { BundleLoadError, checkBundle, loadBundle, type LoadProgress } from './bundleLoader.ts';
import { memoryOn } from './bundlePlan.ts';

// A real HTTP server on loopback serving an in-memory bundle.
const files = new Map<string, Buffer>();
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
function put(path: string, size: number) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + path.length) & 0xff;
  files.set(path, b);
}
['model.onnx', 'tokenizer.json', 'shared.safetensors', 'router.safetensors', 'experts/add.safetensors'].forEach((p, i) => put(p, 1000 + i * 70_000));

function manifest(overrides: (m: Record<string, unknown>) => void = () => {}) {
  const m: Record<string, unknown> = {
    format: BUNDLE_FORMAT,
    version: 1,
    createdBy: 'test',
    architecture: { model_type: 'llama', hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 260 },
    graph: 'model.onnx',
    tokenizer: { files: ['tokenizer.json'] },
    merge: { method: 'task_arithmetic', lambda: 0.3, params: {} },
    shared: { file: 'shared.safetensors', dtype: 'f32' },
    experts: [{ id: 'add', name: 'Add', description: '', rank: 4, rankPolicy: 'fixed', file: 'experts/add.safetensors', bytes: 1, examplePrompts: ['1+1'], source: { kind: 'full', path: 'x' } }],
    router: { file: 'router.safetensors', feature: { kind: 'mean_last_hidden', size: 8 }, labels: ['add'], hidden: [], temperature: 1 },
    files: [...files].map(([path, b]) => ({ path, bytes: b.length, sha256: sha(b) })),
    provenance: [],
  };
  overrides(m);
  return JSON.stringify(m);
}

let server: Server;
let base = '';
let manifestText = manifest();
const requested: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '').replace(/^\/bundle\//, ''));
    requested.push(path);
    if (path === 'manifest.json') return void res.end(manifestText);
    const b = files.get(path);
    if (!b) return void res.writeHead(404).end();
    res.end(b);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bundle`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('loadBundle', () => {
  it('loads every file with monotone progress and verified checksums', async () => {
    manifestText = manifest();
    const progress: LoadProgress[] = [];
    const b = await loadBundle(base, { onProgress: (p) => progress.push(p) });
    expect([...b.files.keys()].sort()).toEqual([...files.keys()].sort());
    for (const [p, data] of b.files) expect(Buffer.from(data).equals(files.get(p)!)).toBe(true);
    const total = [...files.values()].reduce((s, f) => s + f.length, 0);
    expect(progress.at(-1)).toEqual({ stage: 'done', loadedBytes: total, totalBytes: total });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.loadedBytes).toBeGreaterThanOrEqual(progress[i - 1]!.loadedBytes);
    expect(new Set(progress.map((p) => p.stage))).toEqual(new Set(['manifest', 'download', 'verify', 'done']));
  });

  it('names the file whose checksum or size is wrong', async () => {
    manifestText = manifest((m) => {
      (m.files as { path: string; sha256: string }[]).find((f) => f.path === 'router.safetensors')!.sha256 = '0'.repeat(64);
    });
    await expect(loadBundle(base)).rejects.toMatchObject({ code: 'CHECKSUM', file: 'router.safetensors' });
    manifestText = manifest((m) => {
      (m.files as { path: string; bytes: number }[]).find((f) => f.path === 'model.onnx')!.bytes = 10;
    });
    await expect(loadBundle(base)).rejects.toMatchObject({ code: 'SIZE', file: 'model.onnx' });
  });

  it('reports a missing file and an invalid manifest clearly', async () => {
    manifestText = manifest((m) => {
      (m.files as { path: string }[]).push({ path: 'missing.bin', bytes: 1, sha256: 'a'.repeat(64) } as never);
    });
    const err = await loadBundle(base).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleLoadError);
    expect(String(err)).toMatch(/missing\.bin: HTTP 404/);
    manifestText = '<!doctype html><html></html>';
    await expect(loadBundle(base)).rejects.toThrow(/there is no bundle at .*: the server answered with a web page/);
    manifestText = '{"format": "twinmerge-bundle", "version": 1}';
    await expect(loadBundle(base)).rejects.toMatchObject({ code: 'MANIFEST', file: 'manifest.json' });
  });

  it('refuses a hostile manifest before downloading anything: absurd shapes, counts, sizes, an unknown architecture', async () => {
    const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
      ['absurd hidden size', (m) => (((m.architecture as Record<string, unknown>).hidden_size = 10_000_000), ((m.router as { feature: { size: number } }).feature.size = 10_000_000)), /hidden_size 10000000 is beyond/],
      ['absurd layer count', (m) => ((m.architecture as Record<string, unknown>).num_hidden_layers = 1_000_000), /num_hidden_layers 1000000 is beyond/],
      ['a file too large for one array', (m) => ((m.files as { path: string; bytes: number }[]).find((f) => f.path === 'router.safetensors')!.bytes = 1e13), /router\.safetensors is said to be 10000000000000 bytes/],
      ['shared weights too small for the model', (m) => ((m.architecture as Record<string, unknown>).vocab_size = 200_000), /shared\.safetensors is said to be \d+ bytes, but \d+ f32 parameters need/],
      ['an architecture we do not run', (m) => ((m.architecture as Record<string, unknown>).model_type = 'gpt2'), /not one this app runs/],
    ];
    for (const [label, edit, message] of cases) {
      manifestText = manifest(edit);
      requested.length = 0;
      const err = await loadBundle(base).catch((e: unknown) => e);
      expect(err, label).toBeInstanceOf(BundleLoadError);
      expect((err as BundleLoadError).code, label).toBe('MANIFEST');
      expect(String(err), label).toMatch(message);
      expect(requested, label).toEqual(['manifest.json']);
    }
  });

  it('checks a bundle from its manifest alone: the plan, a device that cannot hold it, and nothing else fetched', async () => {
    manifestText = manifest();
    requested.length = 0;
    const { manifest: m, plan } = await checkBundle(base, { only: (f) => f.path !== 'experts/add.safetensors' });
    expect(m.createdBy).toBe('test');
    expect(plan.loadBytes).toBe([...files].filter(([p]) => p !== 'experts/add.safetensors').reduce((s, [, b]) => s + b.length, 0));
    expect(plan.memory.composed).toBe(plan.parameters * 4);
    // A tiny model: the routing pass keeps its own float32 copy of the layers it reads (all of them here: no
    // layer in the manifest; no LM head), whatever the device.
    const routerBytes = (plan.parameters - (plan.spec.tieWordEmbeddings ? 0 : plan.spec.vocabSize * plan.spec.hiddenSize)) * 4;
    expect(plan.memory.routerCopy).toBe(routerBytes);
    // On a GPU with shader-f16 the composed weights are half; on WASM the shared ones are float32.
    const f16 = memoryOn(plan, { kind: 'webgpu', maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30, composedBytesPerElement: 2 });
    expect(f16).toMatchObject({ shared: plan.memory.shared, composed: plan.parameters * 2, routerCopy: routerBytes });
    expect(memoryOn(plan, { kind: 'wasm' })).toMatchObject({ shared: plan.parameters * 4, composed: plan.parameters * 4, routerCopy: routerBytes });
    const err = await checkBundle(base, { fits: () => 'too big here' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FIT', message: 'manifest.json: too big here' });
    expect(requested).toEqual(['manifest.json', 'manifest.json']);
  });

  it('can be cancelled', async () => {
    manifestText = manifest();
    const ac = new AbortController();
    const p = loadBundle(base, { signal: ac.signal, onProgress: (e) => e.stage === 'download' && ac.abort() });
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
