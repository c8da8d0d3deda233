import { expect, test, type Page } from '@playwright/test';
import { openApp } from './app.ts';

// Every control works from the keyboard alone: Tab reaches it (with a visible focus ring) and
// Enter / Space / typing operates it. No mouse event is sent in this test.

/** Presses Tab until `target` has focus (at most `max` times); fails if it never does. */
async function tabTo(page: Page, target: ReturnType<Page['locator']>, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${String(target)}`);
}

test('keyboard only: send a message, open and change settings, toggle an expert, switch to compare and back, new conversation', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await openApp(page);
  await page.locator('body').focus();

  // The message box: type, Enter sends.
  const box = page.getByLabel('Message');
  await tabTo(page, box);
  const ring = await box.evaluate((el) => getComputedStyle(el).outlineStyle !== 'none' || getComputedStyle(el).boxShadow !== 'none');
  expect(ring).toBe(true);
  await page.keyboard.type('Reverse cat');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('message-assistant').last()).toHaveAttribute('data-status', 'done', { timeout: 120_000 });

  // Settings: the summary opens with Enter; a field takes typing.
  const summary = page.locator('summary', { hasText: 'Settings' });
  await tabTo(page, summary);
  await page.keyboard.press('Enter');
  const temp = page.getByLabel('Temperature', { exact: false }).first();
  await tabTo(page, temp);
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('0.5');
  await page.keyboard.press('Tab');
  await expect(temp).toHaveValue('0.5');
  await page.screenshot({ path: testInfo.outputPath('keyboard-settings.png'), fullPage: true });

  // An expert's switch: Space toggles it.
  const upper = page.getByRole('checkbox', { name: 'Use Uppercase' });
  await tabTo(page, upper);
  await page.keyboard.press('Space');
  await expect(upper).not.toBeChecked();
  await page.keyboard.press('Space');
  await expect(upper).toBeChecked();

  // The Compare tab: Enter selects it; the prompt field takes typing and Enter compares.
  const compareTab = page.getByRole('tab', { name: 'Compare' });
  await tabTo(page, compareTab);
  await page.keyboard.press('Enter');
  await expect(compareTab).toHaveAttribute('aria-selected', 'true');
  const prompt = page.getByLabel('Prompt to compare');
  await tabTo(page, prompt);
  await page.keyboard.type('Sort dog');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('compare-static-answer')).not.toHaveText('…', { timeout: 120_000 });
  await page.screenshot({ path: testInfo.outputPath('keyboard-compare.png'), fullPage: true });

  // Back to chat, and a new conversation from its button.
  const chatTab = page.getByRole('tab', { name: 'Chat' });
  await tabTo(page, chatTab);
  await page.keyboard.press('Enter');
  const newConv = page.getByRole('button', { name: '+ New conversation' });
  await tabTo(page, newConv);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('message-assistant')).toHaveCount(0);
  // The file picker of the experts panel is a real button too.
  await tabTo(page, page.getByRole('button', { name: 'Choose files…' }));
  await page.screenshot({ path: testInfo.outputPath('keyboard-focus-choose-files.png'), fullPage: true });
});
