import { expect, test } from '@playwright/test';
import { bundleSolvedPrompt } from './zoo.ts';

// The public API (src/api, docs/api.md) in Chromium on the real worker, model and WebGPU: the two
// example pages a developer starts from. Answers are checked against the Node engine's on the same
// bundle (bundleSolvedPrompt: prompts the bundle answers like the fine-tuned expert).

test('examples/chat.html: createEngine and a streamed chat.completions answer, without React', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  const { prompt, answer } = await bundleSolvedPrompt('reverse');
  await page.goto('/examples/chat.html');
  await expect(page.getByRole('status')).toContainText('Ready on webgpu', { timeout: 120_000 });
  await page.getByLabel('Message').fill(prompt);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByTestId('answer')).toHaveAttribute('data-finish', 'stop', { timeout: 120_000 });
  await expect(page.getByTestId('answer')).toHaveText(answer);
  await expect(page.getByTestId('routing')).toContainText(/^Routed to reverse \d/);
  await page.screenshot({ path: testInfo.outputPath('api-example-chat.png'), fullPage: true });
});

test('examples/openai.html: the official openai client, through engineFetch, gets a whole and a streamed completion; errors in OpenAI’s shape', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/examples/openai.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true', { timeout: 120_000 });
  for (const task of ['add', 'upper']) {
    const { prompt, answer } = await bundleSolvedPrompt(task);
    const r = await page.evaluate((p) => (window as unknown as { ask: (c: string) => Promise<Record<string, unknown>> }).ask(p), prompt);
    expect(r, `${task}: "${prompt}"`).toMatchObject({ whole: answer, streamed: answer, finish: 'stop', streamFinish: 'stop' });
    // The role chunk, at least one delta per character group, the finish chunk.
    expect(r.chunks as number).toBeGreaterThan(2);
    expect(r.usage).toMatchObject({ completion_tokens: expect.any(Number), prompt_tokens: expect.any(Number) });
  }
  const bad = await page.evaluate(() => (window as unknown as { askBadly: () => Promise<Record<string, unknown>> }).askBadly());
  expect(bad).toMatchObject({ name: 'BadRequestError', status: 400, param: 'n', code: 'invalid_value' });
  expect(errors).toEqual([]);
  await page.screenshot({ path: testInfo.outputPath('api-example-openai.png'), fullPage: true });
});
