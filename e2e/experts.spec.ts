import { expect, test, type Page } from '@playwright/test';
import type { MemoryReport } from '../src/worker/protocol.ts';
import { ask, dropFiles, engineMemory, expertIds, openApp, routerParameters, statusMemory, topExpert } from './app.ts';
import { adapterFiles, adapterSolvedPrompt, bundleFile, solvedPrompt } from './zoo.ts';

const ADAPTER = 'caesar';

test('a PEFT LoRA adapter dropped in with its example prompts answers its task, and is still there after a reload', async ({ page }, testInfo) => {
  test.setTimeout(600_000);
  await openApp(page, '/?diagnostics');
  const before = await expertIds(page);
  const routerBefore = await routerParameters(page);
  expect(routerBefore.numClasses).toBe(before.length);
  const memoryBefore = await engineMemory(page);
  await expectStatusMemory(page, memoryBefore);
  await page.getByTestId('expert-file-input').setInputFiles(adapterFiles(ADAPTER));
  const dialog = page.getByRole('dialog', { name: 'Add expert' });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('PEFT LoRA adapter');
  // Name and prompts come pre-filled from examples.json.
  await expect(dialog.getByLabel('Name')).toHaveValue('Caesar shift');
  const prompts = (await dialog.getByLabel(/Example prompts/).inputValue()).split('\n').filter(Boolean);
  expect(prompts.length).toBeGreaterThanOrEqual(32);
  await page.screenshot({ path: testInfo.outputPath('add-expert-dialog.png'), fullPage: true });
  await dialog.getByRole('button', { name: 'Add expert' }).click();
  // Real progress: one step per example prompt run through the shared model's routing layers, then
  // the router's training (the prompts may be through before the first check: the routing pass is
  // one layer on the WASM EP).
  await expect(dialog.getByTestId('add-progress')).toContainText(/Running example prompt \d+ of \d+|Teaching the router/, { timeout: 60_000 });
  await page.screenshot({ path: testInfo.outputPath('add-expert-progress.png'), fullPage: true });
  const info = page.getByTestId('add-info');
  await expect(info).toContainText(/Added "Caesar shift" in \d+\.\d s \(\d+ example prompts through the model, then the router learned it in \d+ ms\)/, { timeout: 120_000 });
  await expect(info).toBeInViewport();
  await page.screenshot({ path: testInfo.outputPath('add-expert-done.png') });
  const trainMs = Number(/in (\d+) ms/.exec(await page.getByText(/router learned it in/).innerText())?.[1]);
  expect(trainMs).toBeLessThan(2000);
  expect(await expertIds(page)).toEqual([...before, 'caesar-shift']);
  // The router learned a fifth class; the status line counts the new expert's factors.
  const routerWith = await routerParameters(page);
  expect(routerWith.numClasses).toBe(before.length + 1);
  expect(routerWith.sha256).not.toBe(routerBefore.sha256);
  const memoryWith = await engineMemory(page);
  expect(memoryWith.experts).toBeGreaterThan(memoryBefore.experts);
  await expectStatusMemory(page, memoryWith);

  const { prompt, answer } = await adapterSolvedPrompt(ADAPTER);
  const got = await ask(page, prompt);
  expect(topExpert(got.routing)).toBe('caesar-shift');
  expect(got.text).toBe(answer);
  // After the message the KV cache holds the conversation, and the status line says so.
  const memoryAfterAnswer = await engineMemory(page);
  expect(memoryAfterAnswer.kvCache).toBeGreaterThan(0);
  await expectStatusMemory(page, memoryAfterAnswer);
  expect((await statusMemory(page)).kv).toBeGreaterThan(0);
  await page.locator('footer.status-bar').screenshot({ path: testInfo.outputPath('status-line-after-answer.png') });
  await page.screenshot({ path: testInfo.outputPath('custom-expert-answer.png'), fullPage: true });

  await page.reload();
  await openApp(page, page.url());
  await expect(page.locator('[data-testid="expert"][data-expert="caesar-shift"]')).toBeVisible({ timeout: 120_000 });
  // Its example prompts' features were stored with it: re-adding it runs no model and takes well under a second.
  const restoreMs = await page.evaluate(() => performance.getEntriesByName('twinmerge:restore-experts')[0]?.duration ?? -1);
  expect(restoreMs).toBeGreaterThanOrEqual(0);
  expect(restoreMs).toBeLessThan(1000);
  await page.getByRole('button', { name: '+ New conversation' }).click(); // single-turn, as the adapter was trained
  expect((await ask(page, prompt)).text).toBe(answer);

  // Compare: the adapter's own fine-tuned column is base + adapter (shared − D + adapter, composed).
  await page.getByRole('tab', { name: 'Compare' }).click();
  await page.getByLabel('Prompt to compare').fill(prompt);
  await page.getByLabel('Prompt to compare').press('Enter');
  await expect(page.getByTestId('compare-expert')).toContainText('Caesar shift (base + adapter)', { timeout: 120_000 });
  await expect(page.getByTestId('compare-static-answer')).not.toHaveText('…', { timeout: 120_000 });
  await expect(page.getByTestId('compare-expert-answer')).toHaveText(answer);
  await page.screenshot({ path: testInfo.outputPath('compare-peft-expert.png'), fullPage: true });
  await page.getByRole('tab', { name: 'Chat' }).click();

  // Removing it restores the bundle's experts and router, bit for bit, and its expert memory.
  await page.getByRole('button', { name: 'Remove Caesar shift' }).click();
  await expect(page.locator('[data-testid="expert"][data-expert="caesar-shift"]')).toHaveCount(0);
  expect(await expertIds(page)).toEqual(before);
  // The answer it gave still names it in its routing bar (names are recorded with the message).
  await expect(page.locator('[data-testid="routing-row"][data-expert="caesar-shift"] .routing-name').last()).toHaveText('Caesar shift');
  const routerAfter = await routerParameters(page);
  expect(routerAfter.sha256).toBe(routerBefore.sha256);
  expect(routerAfter).toEqual(routerBefore);
  const memoryAfter = await engineMemory(page);
  expect(memoryAfter.experts).toBe(memoryBefore.experts);
  await expectStatusMemory(page, memoryAfter);
});

/** The status line shows these figures (it refreshes after each message and each change of the experts). */
async function expectStatusMemory(page: Page, m: MemoryReport): Promise<void> {
  // Shown rounded: 0.1 MB from 1 MB up, 1 KB below.
  const close = (shown: number, bytes: number) => Math.abs(shown - bytes) <= (bytes >= 1 << 20 ? 0.05 * (1 << 20) : 512);
  await expect
    .poll(async () => {
      const s = await statusMemory(page);
      return close(s.shared, m.shared) && close(s.experts, m.experts) && close(s.composed, m.composed) && close(s.kv, m.kvCache) ? 'matches' : s.text;
    })
    .toBe('matches');
}

test('bad drops show what is wrong and change nothing', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await openApp(page);
  const { prompt } = solvedPrompt('add', 'generations_expert_add.json');
  await ask(page, prompt);
  const experts = await expertIds(page);
  const messages = await page.getByTestId('message-assistant').allInnerTexts();
  const error = page.getByTestId('drop-error');

  const expert = bundleFile('experts/add.safetensors');
  await dropFiles(page, [{ name: 'add.safetensors', buffer: expert.subarray(0, Math.floor(expert.length / 2)) }]);
  await expect(error).toContainText('add.safetensors');
  await expect(error).toContainText(/truncat|exceed|out of bounds|shorter/i);
  await page.screenshot({ path: testInfo.outputPath('drop-truncated.png'), fullPage: true });

  // An expert for another architecture: right names, wrong shapes.
  const header = JSON.stringify({ 'model.layers.0.self_attn.q_proj.weight.A': { dtype: 'F32', shape: [2, 576], data_offsets: [0, 4608] }, 'model.layers.0.self_attn.q_proj.weight.B': { dtype: 'F32', shape: [576, 2], data_offsets: [4608, 9216] } });
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  await dropFiles(page, [{ name: 'smollm-expert.safetensors', buffer: Buffer.concat([len, Buffer.from(header), Buffer.alloc(9216)]) }]);
  await expect(error).toContainText('smollm-expert.safetensors');
  await expect(error).toContainText('model.layers.0.self_attn.q_proj.weight');
  await expect(error).toContainText(/shape|does not match|the weight is \[128, 128\]/i);

  await dropFiles(page, [{ name: 'adapter_model.bin', buffer: Buffer.from([0x80, 0x02, 0x63, 0x6f, 0x6c]) }]);
  await expect(error).toContainText('adapter_model.bin');
  await expect(error).toContainText(/pickle/i);
  await page.screenshot({ path: testInfo.outputPath('drop-pickle.png'), fullPage: true });

  expect(await expertIds(page)).toEqual(experts);
  expect(await page.getByTestId('message-assistant').allInnerTexts()).toEqual(messages);
});
