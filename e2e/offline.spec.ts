import { expect, test } from '@playwright/test';
import { ask, openApp } from './app.ts';
import { bundleSolvedPrompt } from './zoo.ts';

test('after one visit the app loads and answers with the network blocked', async ({ page, context }, testInfo) => {
  test.setTimeout(400_000);
  await openApp(page);
  const { prompt, answer } = await bundleSolvedPrompt('sort');
  expect((await ask(page, prompt)).text).toBe(answer);
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  await context.setOffline(true);
  await page.reload();
  await openApp(page, page.url());
  await expect(page.getByTestId('offline')).toBeVisible();
  // The earlier conversation is there, and a new question is answered offline.
  await expect(page.getByTestId('message-user').first()).toHaveText(prompt);
  await page.getByRole('button', { name: '+ New conversation' }).click();
  const second = await ask(page, prompt);
  expect(second.text).toBe(answer);
  await page.screenshot({ path: testInfo.outputPath('offline.png'), fullPage: true });
  await context.setOffline(false);
});
