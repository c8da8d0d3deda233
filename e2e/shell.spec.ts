import { expect, test } from '@playwright/test';

test('the page finds the WebGPU adapter and shows it in the status line', async ({ page }, testInfo) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'twinmerge' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Chat' })).toBeVisible();
  await expect(page.getByRole('complementary', { name: 'Experts' })).toBeVisible();
  const backend = page.getByTestId('backend');
  await expect(backend).toHaveAttribute('data-backend-kind', 'webgpu');
  // Headless Chromium here has no GPU: its adapter is SwiftShader, and the page must say so.
  await expect(backend).toContainText(/WebGPU · .*SwiftShader/i);
  await expect(page.getByTestId('backend-detail')).toContainText('Software adapter');
  await page.screenshot({ path: testInfo.outputPath('shell-webgpu.png'), fullPage: true });
});

test('forcing WASM in the URL is honoured and reported', async ({ page }) => {
  await page.goto('/?backend=wasm');
  const backend = page.getByTestId('backend');
  await expect(backend).toHaveAttribute('data-backend-kind', 'wasm');
  await expect(page.getByTestId('backend-detail')).toContainText('WASM was chosen');
});

test('the layout holds at phone width', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/');
  // The experts are a drawer: one tap from the header, not below the whole chat.
  const panel = page.getByRole('complementary', { name: 'Experts' });
  await expect(panel).toBeHidden();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: testInfo.outputPath('shell-phone.png'), fullPage: true });
  const toggle = page.getByRole('button', { name: /^Experts/ });
  await expect(toggle).toBeInViewport();
  await toggle.click();
  await expect(panel).toBeInViewport();
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await page.screenshot({ path: testInfo.outputPath('shell-phone-experts-drawer.png') });
  // Escape (or the close button) puts it away.
  await page.keyboard.press('Escape');
  await expect(panel).toBeHidden();
  await toggle.click();
  await page.getByRole('button', { name: 'Close the experts panel' }).click();
  await expect(panel).toBeHidden();
});

test('a bundle URL that is missing, or whose manifest is absurd, gets a clear message before any download', async ({ page }, testInfo) => {
  const bundleRequests: string[] = [];
  page.on('request', (r) => /\/(no-such-bundle|hostile-bundle)\//.test(r.url()) && bundleRequests.push(new URL(r.url()).pathname.split('/').pop()!));
  await page.goto('/?bundle=/no-such-bundle');
  // A static host answers 404 (the message says HTTP 404); Vite's dev server answers with its index.html.
  await expect(page.getByTestId('load-error')).toContainText(/there is no bundle at .*no-such-bundle|manifest\.json: HTTP 404/);
  await page.screenshot({ path: testInfo.outputPath('bundle-url-404.png') });
  // e2e/fixtures/hostile-bundle holds only a manifest claiming hidden_size 10,000,000.
  bundleRequests.length = 0;
  await page.goto('/?bundle=/e2e/fixtures/hostile-bundle');
  await expect(page.getByTestId('load-error')).toContainText('hidden_size 10000000 is beyond anything this app runs');
  expect(bundleRequests.every((f) => f === 'manifest.json')).toBe(true);
  await page.screenshot({ path: testInfo.outputPath('bundle-url-hostile.png') });
});

test('a Qwen2.5-0.5B-shaped bundle is measured against the device before any download: too big for this adapter, or it proceeds', async ({ page }, testInfo) => {
  const fetched: string[] = [];
  page.on('request', (r) => r.url().includes('/qwen-shaped-bundle/') && fetched.push(new URL(r.url()).pathname.split('/').pop()!));
  await page.goto('/?bundle=/e2e/fixtures/qwen-shaped-bundle');
  const limits = await page.evaluate(async () => {
    const a = await (navigator as unknown as { gpu: { requestAdapter(): Promise<{ limits: { maxBufferSize: number; maxStorageBufferBindingSize: number }; features: Set<string> } | null> } }).gpu.requestAdapter();
    return a ? { max: Math.min(a.limits.maxBufferSize, a.limits.maxStorageBufferBindingSize), f16: a.features.has('shader-f16') } : null;
  });
  const embedBytes = 151936 * 896 * (limits?.f16 ? 2 : 4);
  const error = page.getByTestId('load-error');
  if (limits && embedBytes > limits.max) {
    await expect(error).toContainText(`This model does not fit this GPU: its largest weight (model.embed_tokens.weight, ${(embedBytes / 2 ** 20).toFixed(1)} MiB composed)`);
    expect(fetched.every((f) => f === 'manifest.json')).toBe(true);
  } else {
    // It fits the adapter (SwiftShader allows buffers of 2 GiB and more): the load goes on to the first
    // file, which this fixture does not have (a host's 404, or Vite's index.html of the wrong size).
    await expect(error).toContainText(/HTTP 404|is larger than the \d+ bytes the manifest says|is \d+ bytes, the manifest says/);
  }
  await page.screenshot({ path: testInfo.outputPath('bundle-does-not-fit.png') });
  testInfo.annotations.push({ type: 'adapter limit', description: JSON.stringify(limits) });
});
