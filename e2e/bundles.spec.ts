// Opening another bundle (issue 12): the bundle picker checks a URL from its manifest alone and shows
// what it costs here; a wrong URL or a bundle that cannot run leaves the loaded one answering; a
// bundle on another origin opens only after the user confirms it, from the picker or from the address.
import { expect, test, type Page } from '@playwright/test';
import { join } from 'node:path';
import { ask, expertIds, openApp } from './app.ts';
import { serveStatic } from './staticServer.ts';
import { ZOO } from './zoo.ts';

async function openPicker(page: Page) {
  await page.getByRole('button', { name: 'Bundle…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Open a bundle' });
  await expect(dialog).toBeVisible();
  return dialog;
}

/** Asked as the first message of a new conversation, so every answer sees the same context. */
async function askAnew(page: Page, prompt: string) {
  await page.getByRole('button', { name: '+ New conversation' }).click();
  return ask(page, prompt);
}

async function check(page: Page, url: string) {
  const dialog = page.getByRole('dialog', { name: 'Open a bundle' });
  await dialog.getByLabel('Bundle URL').fill(url);
  await dialog.getByRole('button', { name: 'Check' }).click();
}

test('the bundle picker: wrong URLs are refused before any download and the loaded bundle keeps answering; another origin opens after a confirming click and is remembered', async ({ page }, testInfo) => {
  // A second origin serving a copy of the demo bundle, readable cross-origin (as a CDN would serve it).
  const host = await serveStatic({ '/bundle/': join(ZOO, 'bundle') }, {}, { cors: true });
  try {
    await openApp(page);
    const demoExperts = await expertIds(page);
    const before = await ask(page, 'Reverse the word: apple');

    const dialog = await openPicker(page);
    await expect(dialog.getByTestId('recent-bundle').first()).toContainText('The demo bundle');
    await check(page, '/no-such-bundle');
    await expect(dialog.getByTestId('bundle-error')).toContainText(/there is no bundle at .*no-such-bundle|HTTP 404/);
    await check(page, '/e2e/fixtures/hostile-bundle');
    await expect(dialog.getByTestId('bundle-error')).toContainText('hidden_size 10000000 is beyond anything this app runs');
    await page.screenshot({ path: testInfo.outputPath('picker-refused.png') });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    // Nothing changed: the same experts answer the same way.
    expect(await expertIds(page)).toEqual(demoExperts);
    expect((await askAnew(page, 'Reverse the word: apple')).text).toBe(before.text);

    // The same bundle from another origin: its size, memory estimate and origin shown first.
    const foreign = `${host.origin}/bundle`;
    await openPicker(page);
    await check(page, foreign);
    const summary = dialog.getByTestId('bundle-summary');
    await expect(summary).toHaveAttribute('data-fits', 'true');
    await expect(summary.getByTestId('bundle-memory')).toContainText(/Memory on .*about [\d.]+ MB \(shared weights [\d.]+ MB, experts [\d.]+ MB, composed [\d.]+ MB/);
    await expect(dialog.getByTestId('bundle-origin')).toContainText(`This bundle is on another site, ${host.origin}`);
    await page.screenshot({ path: testInfo.outputPath('picker-cross-origin.png') });
    await dialog.getByRole('button', { name: `Open from ${host.origin}` }).click();
    await expect(dialog).toBeHidden({ timeout: 120_000 });
    expect(new URL(page.url()).searchParams.get('bundle')).toBe(foreign);
    expect(await expertIds(page)).toEqual(demoExperts);
    expect((await askAnew(page, 'Reverse the word: apple')).text).toBe(before.text);

    // Remembered: the picker lists it.
    await openPicker(page);
    await expect(dialog.getByTestId('recent-bundle').filter({ hasText: foreign })).toHaveCount(1);
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // Opened from the address, a bundle on another origin waits for the user's go-ahead.
    await page.goto(`/?bundle=${encodeURIComponent(foreign)}`);
    const confirm = page.getByTestId('confirm-bundle');
    await expect(confirm).toContainText(`Open a bundle from ${host.origin}?`);
    await expect(confirm.getByTestId('bundle-summary')).toBeVisible();
    await page.screenshot({ path: testInfo.outputPath('confirm-cross-origin.png') });
    await confirm.getByRole('button', { name: /^Download [\d.]+ MB from / }).click();
    await expect(page.getByTestId('expert').first()).toBeAttached({ timeout: 120_000 });
    await expect(page.getByLabel('Message')).toBeEnabled({ timeout: 60_000 });
    expect((await askAnew(page, 'Reverse the word: apple')).text).toBe(before.text);
  } finally {
    await host.close();
  }
});
