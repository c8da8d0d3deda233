import { expect, test } from '@playwright/test';

type Result = { seq: string; tokens: number; maxAbs: number }[];

for (const backend of ['webgpu', 'wasm'] as const) {
  test(`engine logits equal PyTorch's within 1e-4 in Chromium on ${backend} (base and the add expert)`, async ({ page }) => {
    test.setTimeout(300_000);
    await page.goto('/e2e/harness/parity.html');
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    for (const [checkpoint, fixture] of [['base', 'logits_base.safetensors'], ['experts/add', 'logits_expert_add.safetensors']] as const) {
      const r = await page.evaluate(({ c, f, b }) => (window as unknown as { parityHarness: { parity(c: string, f: string, b: string): Promise<Result> } }).parityHarness.parity(c, f, b), { c: checkpoint, f: fixture, b: backend });
      expect(r.length).toBeGreaterThanOrEqual(3);
      expect(Math.max(...r.map((x) => x.tokens))).toBeGreaterThan(64);
      for (const x of r) expect(x.maxAbs, `${checkpoint} ${x.seq} (${x.tokens} tokens) on ${backend}`).toBeLessThanOrEqual(1e-4);
      console.log(`${backend} ${checkpoint}: ${r.map((x) => `${x.seq}/${x.tokens} ${x.maxAbs.toExponential(2)}`).join(', ')}`);
    }
  });
}

test('decode steps on the single-token step graph equal PyTorch within 1e-4 on WebGPU (the last 12 tokens one at a time)', async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto('/e2e/harness/parity.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  for (const [checkpoint, fixture] of [['base', 'logits_base.safetensors'], ['experts/add', 'logits_expert_add.safetensors']] as const) {
    const r = await page.evaluate(({ c, f }) => (window as unknown as { parityHarness: { parity(c: string, f: string, b: string, t: string, s: number): Promise<Result> } }).parityHarness.parity(c, f, 'webgpu', 'float32', 12), { c: checkpoint, f: fixture });
    expect(Math.max(...r.map((x) => x.tokens))).toBeGreaterThan(64);
    for (const x of r) expect(x.maxAbs, `${checkpoint} ${x.seq} (${x.tokens} tokens), step graph`).toBeLessThanOrEqual(1e-4);
    console.log(`step graph ${checkpoint}: ${r.map((x) => `${x.seq}/${x.tokens} ${x.maxAbs.toExponential(2)}`).join(', ')}`);
  }
});

test('a graph with float16 weight inputs runs in Chromium (f16 weights: logits near PyTorch)', async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto('/e2e/harness/parity.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  // ORT's WebGPU EP needs shader-f16 for float16 tensors; SwiftShader has none, so WebGPU runs only where it exists.
  const f16 = await page.evaluate(async () => (await navigator.gpu.requestAdapter())?.features.has('shader-f16') ?? false);
  for (const backend of f16 ? (['webgpu', 'wasm'] as const) : (['wasm'] as const)) {
    const r = await page.evaluate(({ b }) => (window as unknown as { parityHarness: { parity(c: string, f: string, b: string, t: string): Promise<Result> } }).parityHarness.parity('base', 'logits_base.safetensors', b, 'float16'), { b: backend });
    // Half-precision weights move the logits by about 1e-2; the graph itself is exact (src/runtime/f16weights.test.ts).
    for (const x of r) expect(x.maxAbs, `${backend} ${x.seq}`).toBeLessThanOrEqual(0.1);
    console.log(`f16 weights ${backend}: ${r.map((x) => `${x.seq} ${x.maxAbs.toExponential(2)}`).join(', ')}`);
  }
});
