import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { ask, openApp } from './app.ts';

// Accessibility, checked by axe-core (WCAG 2.1 A/AA rules) on every screen at laptop and phone
// width: no serious or critical violation. Each screen's screenshot is saved.

const WIDTHS = [
  { name: 'laptop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
];

async function violations(page: Page, screen: string): Promise<string[]> {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${screen}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).slice(0, 4).join(' | ')}`);
}

test('no serious or critical axe violations on chat, settings, experts and compare, at laptop and phone width', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await openApp(page);
  await ask(page, 'Reverse cat');
  const found: string[] = [];
  for (const size of WIDTHS) {
    // One page for both widths (one model load): the layout follows the viewport.
    await page.setViewportSize({ width: size.width, height: size.height });
    await page.getByRole('tab', { name: 'Chat' }).click();
    const shot = (name: string) => page.screenshot({ path: testInfo.outputPath(`a11y-${size.name}-${name}.png`), fullPage: true });
    found.push(...(await violations(page, `${size.name} chat`)));
    await shot('chat');
    await page.getByText('Settings', { exact: true }).click();
    found.push(...(await violations(page, `${size.name} settings`)));
    await shot('settings');
    await page.getByText('Settings', { exact: true }).click();
    const experts = page.getByRole('button', { name: /^Experts/ });
    if (await experts.isVisible()) await experts.click(); // phone: the experts drawer
    await expect(page.getByRole('complementary', { name: 'Experts' })).toBeInViewport();
    found.push(...(await violations(page, `${size.name} experts`)));
    await shot('experts');
    if (await experts.isVisible()) await page.keyboard.press('Escape');
    await page.getByRole('tab', { name: 'Compare' }).click();
    await page.getByLabel('Prompt to compare').fill('Sort dog');
    await page.getByLabel('Prompt to compare').press('Enter');
    await expect(page.getByTestId('compare-static-answer')).not.toHaveText('…', { timeout: 120_000 });
    found.push(...(await violations(page, `${size.name} compare`)));
    await shot('compare');
  }
  expect(found).toEqual([]);
});
