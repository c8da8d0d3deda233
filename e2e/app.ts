// Shared steps of the app's e2e tests.
import { expect, type Page } from '@playwright/test';
import type { MemoryReport, RouterParameters } from '../src/worker/protocol.ts';

export async function openApp(page: Page, path = '/'): Promise<void> {
  await page.goto(path);
  // Ready = the bundle's experts are listed (in a drawer at phone width) and the message box takes input.
  await expect(page.getByTestId('expert').first()).toBeAttached({ timeout: 120_000 });
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

/** The app's router now, through the `?diagnostics` hook (src/ui/diagnostics.ts): open the app with `?diagnostics`. */
export async function routerParameters(page: Page): Promise<RouterParameters> {
  return page.evaluate(() => {
    const d = (window as { twinmergeDiagnostics?: { routerParameters(): Promise<RouterParameters> } }).twinmergeDiagnostics;
    if (!d) throw new Error('no window.twinmergeDiagnostics: open the app with ?diagnostics');
    return d.routerParameters();
  });
}

/** The engine's memory now, through the `?diagnostics` hook. */
export async function engineMemory(page: Page): Promise<MemoryReport> {
  return page.evaluate(() => {
    const d = (window as { twinmergeDiagnostics?: { memory(): Promise<MemoryReport> } }).twinmergeDiagnostics;
    if (!d) throw new Error('no window.twinmergeDiagnostics: open the app with ?diagnostics');
    return d.memory();
  });
}

/** The memory figures of the status line, in bytes (as shown: rounded to 0.1 MB or 1 KB). */
export async function statusMemory(page: Page): Promise<{ shared: number; experts: number; composed: number; kv: number; text: string }> {
  const text = await page.getByTestId('memory').innerText();
  const m = /shared ([\d.]+ [KM]B) · experts ([\d.]+ [KM]B) · composed ([\d.]+ [KM]B) · KV ([\d.]+ [KM]B)/.exec(text);
  if (!m) throw new Error(`unexpected memory line: ${text}`);
  const bytes = (s: string) => Number(s.split(' ')[0]) * (s.endsWith('MB') ? 1 << 20 : 1024);
  return { shared: bytes(m[1]!), experts: bytes(m[2]!), composed: bytes(m[3]!), kv: bytes(m[4]!), text };
}
