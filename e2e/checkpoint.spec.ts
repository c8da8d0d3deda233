import { expect, test } from '@playwright/test';
import { ask, expertIds, openApp, topExpert } from './app.ts';
import { checkpointAnswers, checkpointFiles } from './zoo.ts';

// A fully fine-tuned checkpoint dropped as a whole folder (config.json, model.safetensors, its
// tokenizer and logs, examples.json): checked against the model, its exclusive module extracted in
// the worker tensor by tensor with progress, the router extended; it answers as the same checkpoint
// added to the bundle in Node does, and a reload re-adds its stored module without extracting again.

test('a dropped full checkpoint folder becomes an expert: extraction progress, routing, the Node session’s answers, kept after a reload', async ({ page }, testInfo) => {
  test.setTimeout(600_000);
  await openApp(page);
  const before = await expertIds(page);
  // First a checkpoint of another model: said in words, naming config.json; nothing changes.
  const wrong = checkpointFiles('double').map((f) => (f.name === 'config.json' ? { ...f, buffer: Buffer.from(JSON.stringify({ ...JSON.parse(f.buffer.toString('utf8')), hidden_size: 256, head_dim: 64 })) } : f));
  await page.getByTestId('expert-file-input').setInputFiles(wrong);
  await expect(page.getByRole('alert')).toContainText('config.json describes a different model than the one loaded');
  await page.screenshot({ path: testInfo.outputPath('checkpoint-wrong-model.png'), fullPage: true });
  expect(await expertIds(page)).toEqual(before);
  await page.getByTestId('expert-file-input').setInputFiles(checkpointFiles('double'));
  const dialog = page.getByRole('dialog', { name: 'Add expert' });
  await expect(dialog).toContainText('Fully fine-tuned checkpoint');
  await expect(dialog).toContainText(/extracted when you add it/);
  await expect(dialog).toContainText(/Not used: generation_config\.json, tokenizer\.json, tokenizer_config\.json, train_stats\.json/);
  await expect(dialog.getByLabel('Name')).toHaveValue('Double letters');
  await page.screenshot({ path: testInfo.outputPath('checkpoint-dialog.png'), fullPage: true });
  await dialog.getByRole('button', { name: 'Add expert' }).click();
  const info = page.getByTestId('add-info');
  await expect(info).toContainText(/Added "Double letters" in \d+\.\d s \(its exclusive module extracted in \d+\.\d s, 32 example prompts/, { timeout: 180_000 });
  await page.screenshot({ path: testInfo.outputPath('checkpoint-added.png'), fullPage: true });
  const extractS = Number(/extracted in (\d+\.\d) s/.exec(await info.innerText())?.[1]);
  console.log(`double: module extracted in Chromium (${await page.getByTestId('backend').getAttribute('data-backend-kind')}) in ${extractS} s`);
  expect(await expertIds(page)).toEqual([...before, 'double-letters']);
  await expect(page.locator('[data-testid="expert"][data-expert="double-letters"]')).toContainText('extracted from your checkpoint');

  const prompts = ['Say agent with each letter doubled.', 'Double counsels'];
  const want = await checkpointAnswers('double', 'double-letters', prompts);
  for (const [i, p] of prompts.entries()) {
    if (i > 0) await page.getByRole('button', { name: '+ New conversation' }).click();
    const got = await ask(page, p);
    expect(topExpert(got.routing), `${p}: ${JSON.stringify(got.routing)}`).toBe('double-letters');
    expect(got.text, p).toBe(want[i]!.text);
  }

  // Stored as its module (a few hundred kB), not as the checkpoint: a reload re-adds it without extraction.
  await page.reload();
  await openApp(page, page.url());
  await expect(page.locator('[data-testid="expert"][data-expert="double-letters"]')).toBeVisible({ timeout: 120_000 });
  const restoreMs = await page.evaluate(() => performance.getEntriesByName('twinmerge:restore-experts')[0]?.duration ?? -1);
  expect(restoreMs).toBeGreaterThanOrEqual(0);
  expect(restoreMs).toBeLessThan(1000);
  await page.getByRole('button', { name: '+ New conversation' }).click();
  expect((await ask(page, prompts[0]!)).text).toBe(want[0]!.text);
});
