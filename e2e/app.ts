// Shared steps of the app's e2e tests.
import { expect, type Page } from '@playwright/test';

export async function openApp(page: Page, path = '/'): Promise<void> {
  await page.goto(path);
  // Ready = the bundle's experts are listed and the message box takes input.
  await expect(page.getByTestId('expert').first()).toBeVisible({ timeout: 120_000 });
  await expect(page.getByLabel('Message')).toBeEnabled({ timeout: 60_000 });
}

export interface Answer {
  text: string;
  routing: Record<string, number>;
}

/** Sends a message and waits for the whole answer. */
export async function ask(page: Page, prompt: string): Promise<Answer> {
  const before = await page.getByTestId('message-assistant').count();
  await page.getByLabel('Message').fill(prompt);
  await page.getByLabel('Message').press('Enter');
  const msg = page.getByTestId('message-assistant').nth(before);
  await expect(msg).toHaveAttribute('data-status', /^(done|error|stopped)$/, { timeout: 180_000 });
  const status = await msg.getAttribute('data-status');
  const body = (await msg.locator('.message-body').innerText()).trim();
  if (status !== 'done') throw new Error(`answer to "${prompt}" ended with status ${status}: ${await msg.innerText()}`);
  const routing: Record<string, number> = {};
  for (const row of await msg.getByTestId('routing-row').all()) {
    routing[(await row.getAttribute('data-expert'))!] = Number(await row.getAttribute('data-weight'));
  }
  return { text: body, routing };
}

export function topExpert(routing: Record<string, number>): string | undefined {
  return Object.entries(routing).sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** A real drag-and-drop of files onto the experts panel's drop zone. */
export async function dropFiles(page: Page, files: { name: string; buffer: Buffer }[]): Promise<void> {
  const payload = files.map((f) => ({ name: f.name, b64: f.buffer.toString('base64') }));
  const dt = await page.evaluateHandle((items) => {
    const t = new DataTransfer();
    for (const it of items) {
      const bin = Uint8Array.from(atob(it.b64), (c) => c.charCodeAt(0));
      t.items.add(new File([bin], it.name));
    }
    return t;
  }, payload);
  const zone = page.getByTestId('drop-zone');
  await zone.dispatchEvent('dragover', { dataTransfer: dt });
  await zone.dispatchEvent('drop', { dataTransfer: dt });
}

export async function expertIds(page: Page): Promise<string[]> {
  return Promise.all((await page.getByTestId('expert').all()).map(async (e) => (await e.getAttribute('data-expert'))!));
}
