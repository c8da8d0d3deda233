import { expect, test } from '@playwright/test';
import { ask, openApp, topExpert } from './app.ts';
import { bundleSolvedPrompt } from './zoo.ts';

test('without WebGPU the page falls back to WASM, says so, and still answers', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await openApp(page);
  const backend = page.getByTestId('backend');
  await expect(backend).toHaveAttribute('data-backend-kind', 'wasm');
  await expect(backend).toContainText('WASM');
  await expect(page.getByTestId('backend-detail')).toContainText(/^Running on WASM\. (This browser does not expose WebGPU|WebGPU is present but no adapter|WebGPU adapter request failed)/);
  const { prompt, answer } = await bundleSolvedPrompt('add');
  const got = await ask(page, prompt);
  expect(got.text).toBe(answer);
  expect(topExpert(got.routing)).toBe('add');
  await page.screenshot({ path: testInfo.outputPath('app-wasm.png'), fullPage: true });
});
