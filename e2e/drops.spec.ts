// Dropping files into the experts panel: a whole adapter folder (its unrelated files set aside and
// named), a folder dropped as a directory, an examples file dropped onto the open dialog, bad files
// worded for a user (the detail folded away), errors that go away, and Undo for a removed expert.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { dropFiles, expertIds, openApp } from './app.ts';
import { ZOO } from './zoo.ts';

interface DropFile {
  name: string;
  buffer: Buffer;
}

const zoo = (...p: string[]): DropFile => ({ name: p[p.length - 1]!, buffer: readFileSync(join(ZOO, ...p)) });
const adapterFolder = (): DropFile[] => ['adapter_config.json', 'adapter_model.safetensors', 'train_stats.json'].map((f) => zoo('adapters', 'caesar', f));
const readme: DropFile = { name: 'README.md', buffer: Buffer.from('# caesar\nA LoRA adapter that shifts letters.\n') };

/**
 * Drops one folder the way a file manager does: the drop's item is a directory entry
 * (DataTransferItem.webkitGetAsEntry), read with createReader().readEntries(). A page cannot build
 * a real directory entry, so the entries are stand-ins with the same methods; the files are real.
 */
async function dropFolder(target: Locator, folder: string, files: DropFile[], subfolders: string[]): Promise<void> {
  const payload = files.map((f) => ({ name: f.name, b64: f.buffer.toString('base64') }));
  await target.evaluate(
    (el, { folder, payload, subfolders }) => {
      const file = (it: { name: string; b64: string }) => new File([Uint8Array.from(atob(it.b64), (c) => c.charCodeAt(0))], it.name);
      const fileEntry = (f: File) => ({ isFile: true, isDirectory: false, name: f.name, file: (ok: (f: File) => void) => setTimeout(() => ok(f)) });
      const dirEntry = (name: string, children: unknown[]) => ({
        isFile: false,
        isDirectory: true,
        name,
        createReader: () => {
          // Two batches, then none: as Chromium hands out large folders.
          const batches = [children.slice(0, 2), children.slice(2), []];
          return { readEntries: (ok: (b: unknown[]) => void) => setTimeout(() => ok(batches.shift() ?? [])) };
        },
      });
      const root = dirEntry(folder, [...payload.map((p) => fileEntry(file(p))), ...subfolders.map((s) => dirEntry(s, []))]);
      const dt = { items: [{ kind: 'file', type: '', webkitGetAsEntry: () => root, getAsFile: () => null }], files: [], types: ['Files'] };
      const ev = new DragEvent('drop', { bubbles: true, cancelable: true });
      Object.defineProperty(ev, 'dataTransfer', { value: dt });
      el.dispatchEvent(ev);
    },
    { folder, payload, subfolders },
  );
}

/** A real drag-and-drop of files onto any element (e.g. the open add dialog). */
async function dropOn(page: Page, target: Locator, files: DropFile[]): Promise<void> {
  const payload = files.map((f) => ({ name: f.name, b64: f.buffer.toString('base64') }));
  const dt = await page.evaluateHandle((items) => {
    const t = new DataTransfer();
    for (const it of items) t.items.add(new File([Uint8Array.from(atob(it.b64), (c) => c.charCodeAt(0))], it.name));
    return t;
  }, payload);
  await target.dispatchEvent('dragover', { dataTransfer: dt });
  await target.dispatchEvent('drop', { dataTransfer: dt });
}

test('an adapter folder drops in as a directory, its examples onto the dialog after it; a removed expert can be put back', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await openApp(page);
  const before = await expertIds(page);
  const dialog = page.getByRole('dialog', { name: 'Add expert' });

  // The folder itself (a directory entry), with a subfolder that is not read: no examples yet.
  await dropFolder(page.getByTestId('drop-zone'), 'caesar', [...adapterFolder(), readme], ['checkpoint-500']);
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('Not used: train_stats.json, README.md');
  await expect(dialog).toContainText('Subfolders are not read: caesar/checkpoint-500.');
  await expect(dialog).toContainText('No example prompts came with the files');
  // Not addable yet, and it looks it.
  const add = dialog.getByRole('button', { name: 'Add expert' });
  await expect(add).toBeDisabled();
  await expect(add).toHaveCSS('cursor', 'not-allowed');
  await expect(add).toHaveCSS('background-color', 'rgb(170, 182, 214)');
  await page.screenshot({ path: testInfo.outputPath('drop-adapter-folder.png'), fullPage: true });

  // The examples file dropped onto the open dialog joins the folder's files.
  await dropOn(page, dialog, [zoo('data', 'caesar', 'examples.json')]);
  await expect(dialog.getByLabel('Name')).toHaveValue('Caesar shift');
  expect((await dialog.getByLabel(/Example prompts/).inputValue()).split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(32);
  await expect(add).toBeEnabled();
  await add.click();
  await expect(page.getByRole('status').filter({ hasText: 'router learned it in' })).toBeVisible({ timeout: 120_000 });
  expect(await expertIds(page)).toEqual([...before, 'caesar-shift']);

  // Removed, then put back with Undo (added again from its stored files).
  await page.getByRole('button', { name: 'Remove Caesar shift' }).click();
  await expect(page.locator('[data-testid="expert"][data-expert="caesar-shift"]')).toHaveCount(0);
  const toast = page.getByRole('complementary', { name: 'Experts' }).getByTestId('undo-toast');
  await expect(toast).toContainText('Removed "Caesar shift".');
  await page.screenshot({ path: testInfo.outputPath('expert-removed-undo.png'), fullPage: true });
  await toast.getByRole('button', { name: 'Undo' }).click();
  await expect(page.getByRole('status').filter({ hasText: '"Caesar shift" is back.' })).toBeVisible({ timeout: 120_000 });
  expect(await expertIds(page)).toEqual([...before, 'caesar-shift']);
  await expect(toast).toHaveCount(0);
});

test('bad files are worded for a user first, details folded; the error goes when its cause does; every file of an adapter folder is accepted, the unrelated ones named', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await openApp(page);
  const experts = await expertIds(page);
  const error = page.getByTestId('drop-error');

  // A text file renamed .safetensors.
  await dropFiles(page, [{ name: 'notes.safetensors', buffer: Buffer.from('These are my notes about the caesar adapter.\nNothing binary here.\n') }]);
  await expect(error.locator('.problem-summary')).toHaveText('notes.safetensors is not a safetensors file (it looks like text).');
  const details = error.locator('details');
  await expect(details).not.toHaveAttribute('open', '');
  await expect(details.locator('code')).toBeHidden();
  await details.locator('summary').click();
  await expect(details.locator('code')).toContainText('[HEADER_TOO_LARGE]');
  await page.screenshot({ path: testInfo.outputPath('drop-text-as-safetensors.png'), fullPage: true });

  // An empty file.
  await dropFiles(page, [{ name: 'empty.safetensors', buffer: Buffer.alloc(0) }]);
  await expect(error.locator('.problem-summary')).toHaveText('empty.safetensors is empty (0 bytes).');
  await expect(error.locator('details code')).toContainText('[TRUNCATED]');

  // Dismissed by hand.
  await error.getByRole('button', { name: 'Dismiss error' }).click();
  await expect(error).toHaveCount(0);

  // A files-only drop that holds no expert says so; the next good drop clears it.
  await dropFiles(page, [readme, zoo('adapters', 'caesar', 'train_stats.json')]);
  await expect(error.locator('.problem-summary')).toContainText('None of the dropped files is an expert');
  // Every file of models/adapters/caesar/ plus models/data/caesar/examples.json, as files (issue 14's case).
  await dropFiles(page, [...adapterFolder(), readme, zoo('data', 'caesar', 'examples.json')]);
  const dialog = page.getByRole('dialog', { name: 'Add expert' });
  await expect(dialog).toBeVisible();
  await expect(error).toHaveCount(0);
  await expect(dialog.getByRole('note').filter({ hasText: 'Not used:' })).toContainText('train_stats.json, README.md');
  await expect(dialog.getByLabel('Name')).toHaveValue('Caesar shift');
  await page.screenshot({ path: testInfo.outputPath('drop-adapter-files.png'), fullPage: true });
  // A bad examples file dropped onto the open dialog shows over it, and goes with the dialog.
  await dropOn(page, dialog, [{ name: 'examples.json', buffer: Buffer.from('{"steps": 3}') }]);
  await expect(error.locator('.problem-summary')).toHaveText('examples.json does not hold example prompts: it should be a JSON list of prompt strings, or { "prompts": [...] }.');
  await page.screenshot({ path: testInfo.outputPath('drop-error-over-dialog.png'), fullPage: true });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(error).toHaveCount(0);
  expect(await expertIds(page)).toEqual(experts);
});
