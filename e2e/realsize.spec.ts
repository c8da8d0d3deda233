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
import { ensureRealsizeBundle, REALSIZE_LAYERS as LAYERS, REALSIZE_SHAPE as SHAPE } from './realsize.ts';

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
  });
}
