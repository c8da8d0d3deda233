import { expect, test } from '@playwright/test';

test('without WebGPU the page falls back to WASM and says so', async ({ page }, testInfo) => {
  await page.goto('/');
  const backend = page.getByTestId('backend');
  await expect(backend).toHaveAttribute('data-backend-kind', 'wasm');
  await expect(backend).toContainText('WASM');
  await expect(page.getByTestId('backend-detail')).toContainText('WebGPU unavailable');
  await page.screenshot({ path: testInfo.outputPath('shell-wasm.png'), fullPage: true });
});
