// Forms a new user meets first: settings that take free typing (a draft per field, checked when the
// field is left, the range shown, Reset to defaults), disabled controls that look disabled, "New
// conversation" that does not pile up empty ones, and Undo for a deleted conversation.
import { expect, test, type Page } from '@playwright/test';
import { ask, openApp } from './app.ts';
import { solvedPrompt } from './zoo.ts';

/** Clears the field and types the text key by key, as a user does. */
async function typeInto(page: Page, label: string, text: string): Promise<void> {
  const field = page.getByLabel(label, { exact: true });
  await field.click();
  await field.press('ControlOrMeta+a');
  await field.press('Backspace');
  if (text) await field.pressSequentially(text);
}

test('settings take free typing, say what is wrong with the range, and reset to defaults', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  await page.goto('/'); // settings need no model: no wait for the engine
  await page.getByText('Settings').click();
  const topP = page.getByLabel('Top-p', { exact: true });
  const maxTokens = page.getByLabel('Max new tokens', { exact: true });
  await expect(topP).toHaveValue('1');
  await expect(page.getByText('0.05 to 1 · 1 = off')).toBeVisible();

  // "0.5" typed key by key: "0" and "0." on the way are not refused.
  await typeInto(page, 'Top-p', '0.5');
  await expect(topP).toHaveValue('0.5');
  await topP.press('Tab');
  await expect(topP).toHaveValue('0.5');
  await expect(topP).not.toHaveAttribute('aria-invalid');

  // 500 is out of range: said on leaving the field, the value from before stays in use.
  await typeInto(page, 'Max new tokens', '500');
  await expect(maxTokens).toHaveValue('500');
  await maxTokens.press('Tab');
  await expect(maxTokens).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#setting-maxNewTokens-error')).toHaveText('500 is out of range: enter a whole number from 1 to 256. Still using 100.');
  await page.locator('details.settings').screenshot({ path: testInfo.outputPath('settings-error.png') });

  // A field can be cleared; empty is an error once left, a valid number clears it.
  await typeInto(page, 'Max new tokens', '');
  await expect(maxTokens).toHaveValue('');
  await maxTokens.press('Tab');
  await expect(page.locator('#setting-maxNewTokens-error')).toHaveText('Enter a whole number from 1 to 256. Still using 100.');
  await typeInto(page, 'Max new tokens', '64');
  await expect(page.locator('#setting-maxNewTokens-error')).toHaveCount(0);
  await maxTokens.press('Tab');

  // The valid values were saved.
  await page.reload();
  await page.getByText('Settings').click();
  await expect(topP).toHaveValue('0.5');
  await expect(maxTokens).toHaveValue('64');

  const reset = page.getByRole('button', { name: 'Reset to defaults' });
  await reset.click();
  await expect(topP).toHaveValue('1');
  await expect(maxTokens).toHaveValue('100');
  await expect(reset).toBeDisabled();
  await expect(reset).toHaveCSS('opacity', '0.5');
  await expect(reset).toHaveCSS('cursor', 'not-allowed');
  await page.locator('details.settings').screenshot({ path: testInfo.outputPath('settings-reset.png') });
});

test('disabled controls look disabled; New conversation reuses the empty one; a deleted conversation can be undone', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await openApp(page);
  const list = page.getByRole('navigation', { name: 'Conversations' });
  const items = list.getByRole('listitem');
  const newConversation = page.getByRole('button', { name: '+ New conversation' });

  // Send is disabled with an empty message, and looks it.
  const send = page.getByRole('button', { name: 'Send' });
  await expect(send).toBeDisabled();
  await expect(send).toHaveCSS('cursor', 'not-allowed');

  // Pressing "New conversation" on an empty one piles nothing up.
  await newConversation.click();
  await newConversation.click();
  await expect(items).toHaveCount(1);
  const { prompt } = solvedPrompt('upper', 'generations_expert_upper.json');
  await ask(page, prompt);
  const title = prompt.slice(0, 48);
  await newConversation.click();
  await newConversation.click();
  await expect(items).toHaveCount(2);
  await expect(page.getByTestId('message-user')).toHaveCount(0);

  // Delete, then Undo: the conversation comes back with its messages.
  await list.getByRole('button', { name: `Delete ${title}` }).click();
  await expect(list.getByRole('button', { name: title, exact: true })).toHaveCount(0);
  const toast = list.getByTestId('undo-toast');
  await expect(toast).toContainText(`Deleted "${title}".`);
  await page.screenshot({ path: testInfo.outputPath('conversation-deleted-undo.png'), fullPage: true });
  await toast.getByRole('button', { name: 'Undo' }).click();
  await expect(list.getByRole('button', { name: title, exact: true })).toBeVisible();
  await expect(page.getByTestId('message-user')).toHaveText(prompt);
  await expect(toast).toHaveCount(0);

  // Deleted for good once the Undo has run out.
  await list.getByRole('button', { name: `Delete ${title}` }).click();
  await expect(toast).toHaveCount(0, { timeout: 15_000 });
  await expect(items).toHaveCount(1);

  // Compare with an empty prompt: disabled, and it looks it.
  await page.getByRole('tab', { name: 'Compare' }).click();
  const compare = page.getByRole('button', { name: 'Compare', exact: true });
  await expect(compare).toBeDisabled();
  await expect(compare).toHaveCSS('cursor', 'not-allowed');
  await expect(compare).toHaveCSS('background-color', 'rgb(170, 182, 214)');
  await page.getByLabel('Prompt to compare').fill('What is 2 + 2?');
  await expect(compare).toBeEnabled();
  await expect(compare).toHaveCSS('cursor', 'pointer');
  await page.getByLabel('Prompt to compare').fill('');
  await page.screenshot({ path: testInfo.outputPath('compare-disabled.png'), fullPage: true });
});
