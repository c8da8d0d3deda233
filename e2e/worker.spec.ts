import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { solvedPrompt } from './zoo.ts';

type Harness = Record<string, (...args: never[]) => Promise<unknown>>;
const call = <T>(page: Page, fn: string, ...args: unknown[]) =>
  page.evaluate(({ fn, args }) => ((window as unknown as { workerHarness: Harness }).workerHarness[fn] as (...a: unknown[]) => Promise<unknown>)(...args), { fn, args }) as Promise<T>;

test('the worker protocol from the UI side: load stages, typed errors, routing, toggles, cancel, device-loss recovery, and no GPU memory growth over 100 messages', async ({ page }) => {
  test.setTimeout(600_000);
  await page.goto('/e2e/harness/worker.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  expect(await call<string>(page, 'notLoaded')).toMatch(/^NOT_READY: /);

  const loaded = await call<{ stages: string[]; experts: string[]; backend: string }>(page, 'load', '/models/bundle');
  expect(loaded.backend).toBe('webgpu');
  expect(loaded.stages[0]).toBe('manifest');
  expect(loaded.stages).toContain('download');
  expect(loaded.stages).toContain('upload');
  expect(loaded.stages).toContain('warmup'); // kernels compiled at load, not at the first message
  expect(loaded.stages.at(-1)).toBe('done');

  const add = solvedPrompt('add', 'generations_expert_add.json').prompt;
  const rev = solvedPrompt('reverse', 'generations_expert_reverse.json').prompt;
  const routing = await call<Record<string, number>>(page, 'route', add);
  expect(Object.values(routing).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  expect(Object.entries(routing).sort((a, b) => b[1] - a[1])[0]![0]).toBe('add');

  // A disabled expert gets no weight.
  await call(page, 'setEnabled', 'add', false);
  expect((await call<Record<string, number>>(page, 'route', add))['add']).toBeUndefined();
  await call(page, 'setEnabled', 'add', true);

  const garbage = await call<{ code: string; file: string; message: string }>(page, 'inspectGarbage');
  expect(garbage.file).toBe('x.safetensors');
  expect(garbage.message).toMatch(/x\.safetensors/);

  const cancelled = await call<{ finishReason: string; tokens: number }>(page, 'cancelMidway', rev);
  expect(cancelled.finishReason).toBe('aborted');
  expect(cancelled.tokens).toBeLessThan(10);

  // A lost GPU device: the worker rebuilds the session and the conversation continues with the same answers.
  const loss = await call<{ before: string; after: string; notices: string[] }>(page, 'deviceLoss', add);
  expect(loss.notices[0]).toMatch(/GPU device was lost/);
  expect(loss.notices.at(-1)).toMatch(/Engine restarted on a new WebGPU device/);
  expect(loss.after).toBe(loss.before);

  const reports = await call<{ cycle: number; memory: { deviceBuffers: number; deviceBytes: number; buffers: number } }[]>(page, 'cycles', [add, rev], 100);
  const [first, last] = reports;
  expect(last!.memory.buffers).toBe(first!.memory.buffers);
  expect(last!.memory.deviceBuffers).toBeLessThanOrEqual(first!.memory.deviceBuffers);
  expect(last!.memory.deviceBytes).toBeLessThanOrEqual(first!.memory.deviceBytes);
});
