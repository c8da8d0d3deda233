import { expect, test } from '@playwright/test';
import { ask, openApp, topExpert } from './app.ts';
import { BUNDLE_TASKS, bundleSolvedPrompt, solvedPrompt } from './zoo.ts';

test('each demo task gets the fine-tuned answer, routed to its expert', async ({ page }, testInfo) => {
  test.setTimeout(600_000);
  await openApp(page);
  await expect(page.getByTestId('backend')).toHaveAttribute('data-backend-kind', 'webgpu');
  for (const [i, task] of BUNDLE_TASKS.entries()) {
    // Each task in a fresh conversation (the conversation list is checked below).
    if (i > 0) await page.getByRole('button', { name: '+ New conversation' }).click();
    const { prompt, answer } = await bundleSolvedPrompt(task);
    const got = await ask(page, prompt);
    expect(got.text, `${task}: "${prompt}"`).toBe(answer);
    expect(topExpert(got.routing), `${task} routing ${JSON.stringify(got.routing)}`).toBe(task);
    expect(got.routing[task]!).toBeGreaterThan(0.5);
  }
  // Timings are shown with the answer; every task left its conversation in the list.
  await expect(page.getByTestId('timings')).toHaveCount(1);
  await expect(page.getByRole('navigation', { name: 'Conversations' }).getByRole('listitem')).toHaveCount(BUNDLE_TASKS.length);
  await page.screenshot({ path: testInfo.outputPath('chat-every-task.png'), fullPage: true });
});

test('greetings and "what can you do?" go to the help expert; a task asked later in the chat still gets its answer', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await openApp(page);
  const help = solvedPrompt('help', 'generations_expert_help.json').answer;
  const history: { role: 'user' | 'assistant'; content: string }[] = [];
  for (const prompt of ['hello', 'what can you do?']) {
    const got = await ask(page, prompt);
    expect(topExpert(got.routing), `${prompt}: routing ${JSON.stringify(got.routing)}`).toBe('help');
    expect(got.text, prompt).toBe(help);
    history.push({ role: 'user', content: prompt }, { role: 'assistant', content: got.text });
  }
  // The third message of the same chat: a task, routed on the message itself, answered after the earlier turns.
  const { prompt, answer } = await bundleSolvedPrompt('reverse', history);
  const got = await ask(page, prompt);
  expect(topExpert(got.routing)).toBe('reverse');
  expect(got.text, `third turn: "${prompt}"`).toBe(answer);
  await page.screenshot({ path: testInfo.outputPath('chat-help-then-task.png'), fullPage: true });
});

test('the conversation survives a reload, and so do settings', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await openApp(page);
  const { prompt, answer } = await bundleSolvedPrompt('upper');
  expect((await ask(page, prompt)).text).toBe(answer);
  await page.getByText('Settings').click();
  await page.getByLabel(/Max new tokens/).fill('40');
  await page.reload();
  await openApp(page, page.url());
  await expect(page.getByTestId('message-user')).toHaveText(prompt);
  await expect(page.getByTestId('message-assistant')).toContainText(answer);
  await page.getByText('Settings').click();
  await expect(page.getByLabel(/Max new tokens/)).toHaveValue('40');
  // New / rename / delete conversation.
  await page.getByRole('button', { name: '+ New conversation' }).click();
  await expect(page.getByTestId('message-user')).toHaveCount(0);
  await page.getByRole('button', { name: `Rename ${prompt.slice(0, 48)}` }).click();
  await page.getByLabel('Conversation name').fill('Shouting');
  await page.getByLabel('Conversation name').press('Enter');
  await expect(page.getByRole('button', { name: 'Shouting', exact: true })).toBeVisible();
  await page.getByRole('button', { name: 'Delete Shouting' }).click();
  await expect(page.getByRole('button', { name: 'Shouting', exact: true })).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath('conversations.png'), fullPage: true });
});

test('when no expert fits, the answer says so: a far-off message, and a task whose expert is switched off', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await openApp(page);
  await ask(page, '!!!???');
  const note = page.getByTestId('low-confidence').last();
  await expect(note).toHaveAttribute('data-reason', 'far');
  await expect(note).toContainText('No expert is confident about this message');
  await page.screenshot({ path: testInfo.outputPath('chat-no-expert-fits.png'), fullPage: true });
  // Uppercase off: its prompt still gets an answer from the enabled experts, flagged as uncertain.
  // The switch is controlled by the worker's answer: click, then wait for the new state.
  const upperSwitch = page.getByRole('checkbox', { name: 'Use Uppercase' });
  await upperSwitch.click();
  await expect(upperSwitch).not.toBeChecked();
  const { prompt } = await bundleSolvedPrompt('upper');
  await page.getByRole('button', { name: '+ New conversation' }).click();
  await ask(page, prompt);
  await expect(page.getByTestId('low-confidence').last()).toHaveAttribute('data-reason', 'uncertain');
  await expect(page.getByTestId('low-confidence').last()).toContainText('No enabled expert is confident');
  await page.screenshot({ path: testInfo.outputPath('chat-expert-switched-off.png'), fullPage: true });
  await upperSwitch.click();
  await expect(upperSwitch).toBeChecked();
  // A task prompt with its expert on carries no note.
  await page.getByRole('button', { name: '+ New conversation' }).click();
  await ask(page, prompt);
  await expect(page.getByTestId('low-confidence')).toHaveCount(0);
});
