// Real model sizes in Chromium (issue 12): a SmolLM2-135M-shaped bundle, packed here by the CLI from
// a sharded bf16 HF checkpoint folder (`twinmerge synth`, then `twinmerge pack`), opens through the
// engine worker on WebGPU (SwiftShader) and on WASM, routes, composes and generates greedily; its
// tokens equal the Node engine's on the same bundle, and the memory the worker reports is the plan's.
//
// The depth is REALSIZE_LAYERS (e2e/realsize.ts).
import { expect, test } from '@playwright/test';
import { checkBundle } from '../src/runtime/bundleLoader.ts';
import { memoryOn, type BundlePlan } from '../src/runtime/bundlePlan.ts';
import { fileFetch, folderUrl } from '../src/node/fileFetch.ts';
import { neededAtLoad } from '../src/runtime/twin/session.ts';
import { openNodeSession } from '../src/testing/nodeSession.ts';
import { DEFAULT_SETTINGS } from '../src/worker/protocol.ts';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractMain } from '../src/cli/extract.ts';
import { readModule } from '../src/core/twin/index.ts';
import { openCheckpointDir } from '../src/runtime/node/checkpoint.ts';
import { moduleDiff } from '../src/core/twin/moduleDiff.ts';
import { ensureRealsizeBundle, REALSIZE_DIR, REALSIZE_LAYERS as LAYERS, REALSIZE_SHAPE as SHAPE } from './realsize.ts';

const PROMPT = 'Spell merry backwards.';
const TOKENS = 8;

type Memory = { shared: number; composed: number; experts: number; router: number; kvCache: number };
interface Loaded {
  ms: number;
  stages: [string, number][];
  backend: { kind: string; shaderF16?: boolean };
  memory: Memory;
}
interface Answered {
  ms: number;
  tokenIds: number[];
  routing: Record<string, number>;
  timings: { routeMs: number; composeMs: number; firstTokenMs: number; tokensPerSecond: number };
  memory: Memory;
}

let BUNDLE = '';
let reference: { tokenIds: number[]; routing: Record<string, number> };
let plan: BundlePlan;
/** `twinmerge extract`'s module of the dropped checkpoint (onnxruntime-node's MatMul for the SVD), and its time. */
let offline: { bytes: Uint8Array; ms: number };
/** A checkpoint of the same shape dropped into the page (one of synth's experts: its E = theta - shared is what any checkpoint's is). */
const DROPPED = join(REALSIZE_DIR, 'experts', 'e3');

test.beforeAll(async () => {
  test.setTimeout(1_200_000);
  BUNDLE = ensureRealsizeBundle();
  plan = (await checkBundle(folderUrl(BUNDLE), { fetch: fileFetch, only: neededAtLoad })).plan;
  const session = await openNodeSession(BUNDLE);
  try {
    const r = await session.generate([{ role: 'user', content: PROMPT }], { ...DEFAULT_SETTINGS, temperature: 0, maxNewTokens: TOKENS }, { kind: 'twin' }, () => {}, new AbortController().signal);
    reference = { tokenIds: r.tokenIds, routing: r.routing };
  } finally {
    await session.dispose();
  }
  expect(reference.tokenIds.length).toBeGreaterThanOrEqual(1);
  const tmp = await mkdtemp(join(tmpdir(), 'tm-realsize-'));
  try {
    const t0 = Date.now();
    expect(await extractMain(['--bundle', BUNDLE, '--checkpoint', DROPPED, '--out', join(tmp, 'e3.safetensors'), '--id', 'dropped'])).toBe(0);
    offline = { bytes: new Uint8Array(await readFile(join(tmp, 'e3.safetensors'))), ms: Date.now() - t0 };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

const within = (actual: number, expected: number, share: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * share);

for (const backend of ['webgpu', 'wasm'] as const) {
  test(`a ${SHAPE}-shaped bundle (${LAYERS} layers) on ${backend}: the Node engine's greedy tokens, and the memory its plan says`, async ({ page }) => {
    test.setTimeout(1_200_000);
    await page.goto('/e2e/harness/realsize.html');
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    const loaded = await page.evaluate(([u, b]) => (window as unknown as { realsize: { load(u: string, b: string): Promise<Loaded> } }).realsize.load(u!, b!), [`/${BUNDLE}`, backend]);
    expect(loaded.backend.kind).toBe(backend);
    const answer = await page.evaluate(([p, n]) => (window as unknown as { realsize: { answer(p: string, n: number): Promise<Answered> } }).realsize.answer(p as string, n as number), [PROMPT, TOKENS] as const);
    console.log(`${backend}: load ${(loaded.ms / 1000).toFixed(1)} s (${loaded.stages.map(([s, t]) => `${s}@${(t / 1000).toFixed(1)}`).join(' ')}); route ${answer.timings.routeMs.toFixed(0)} ms, compose ${answer.timings.composeMs.toFixed(0)} ms, first token ${answer.timings.firstTokenMs.toFixed(0)} ms, ${answer.timings.tokensPerSecond.toFixed(2)} tok/s; memory ${JSON.stringify(answer.memory)}`);

    // Same routing (float32 on both sides) and the same greedy tokens as the Node engine.
    for (const [id, w] of Object.entries(reference.routing)) expect(Math.abs((answer.routing[id] ?? 0) - w), id).toBeLessThan(1e-3);
    expect(answer.tokenIds).toEqual(reference.tokenIds);

    // What the worker holds is what the plan (the picker's estimate) says, within headers and padding.
    const m = memoryOn(plan, backend === 'webgpu' ? { kind: 'webgpu', maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 31, composedBytesPerElement: loaded.backend.shaderF16 ? 2 : 4 } : { kind: 'wasm' });
    within(answer.memory.shared, m.shared, 0.01);
    within(answer.memory.composed, m.composed, 0.01);
    expect(answer.memory.router).toBe(m.routerCopy);
    within(answer.memory.experts, m.experts, 0.05);

    // A full checkpoint dropped at this size: its module, factored in the worker (randomized SVD on
    // WGSL products on WebGPU, onnxruntime-web's MatMul on WASM), is `twinmerge extract`'s.
    const files = (await readdir(DROPPED)).filter((f) => f === 'config.json' || f.endsWith('.safetensors') || f.endsWith('.index.json')).map((f) => `/${DROPPED}/${f}`);
    const added = await page.evaluate(
      ({ files, prompts }) => (window as unknown as { realsize: { addCheckpoint(u: string[], id: string, p: string[]): Promise<{ ms: number; extractMs: number; extractSteps: number; moduleBase64: string }> } }).realsize.addCheckpoint(files, 'dropped', prompts),
      { files, prompts: ['Spell merry backwards.', 'Sort 3 1 2.', 'Upper case: hello.', 'Add 12 and 30.'] },
    );
    const ck = await openCheckpointDir(DROPPED);
    const weights = ck.weights;
    await ck.close();
    const diff = moduleDiff(readModule('dropped.safetensors', Buffer.from(added.moduleBase64, 'base64'), weights), readModule('dropped.safetensors', offline.bytes, weights));
    console.log(`${backend}: checkpoint extracted in the worker in ${(added.extractMs / 1000).toFixed(1)} s (add ${(added.ms / 1000).toFixed(1)} s; twinmerge extract ${(offline.ms / 1000).toFixed(1)} s); vs twinmerge extract: B A ${diff.product.toExponential(2)} (${diff.productAt}), factors ${diff.factors.toExponential(2)}`);
    expect(added.extractSteps).toBe(weights.length);
    expect(diff.product).toBeLessThan(1e-3);
  });
}
