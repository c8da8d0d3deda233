import { expect, test } from '@playwright/test';
import type { CaseSpec, CheckResult } from './harness/composer.ts';

type Harness = {
  check(cases: CaseSpec[], routing: Record<string, number>, seed: number, skipBelow?: number, kernel?: 'tiled' | 'flat'): Promise<{ results: CheckResult[]; recomposedAgain: boolean; memory: { buffers: number } }>;
};

const shapes: [number, number][] = [[1, 1], [17, 33], [65, 7], [128, 352], [31, 129], [352, 128], [3, 200]];
const cases: CaseSpec[] = (['f32', 'f16', 'int8'] as const).flatMap((dtype) => shapes.map(([outDim, inDim]) => ({ outDim, inDim, dtype })));

for (const kernel of ['tiled', 'flat'] as const)
test(`WGSL composer (${kernel}) equals a float64 reference for odd shapes, three shared dtypes and four experts`, async ({ page }) => {
  await page.goto('/e2e/harness/composer.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  for (const [seed, routing] of [
    [1, { e0: 0.4, e1: 0.3, e2: 0.2, e3: 0.1 }],
    [2, { e0: 0, e1: 1, e2: 0, e3: 0 }],
    [3, { e0: 0.6, e1: -0.25, e2: 0.0001, e3: 0.35 }], // e2 is below the skip threshold
  ] as const) {
    const r = await page.evaluate(
      ({ cases, routing, seed, kernel }) => (window as unknown as { composerHarness: Harness }).composerHarness.check(cases, routing, seed, 1e-3, kernel),
      { cases, routing, seed, kernel },
    );
    expect(r.results).toHaveLength(cases.length);
    for (const c of r.results) {
      expect(c.relErr, `${c.dtype} [${c.shape}] seed ${seed}: max abs err ${c.maxAbsErr} of ${c.maxAbsRef}`).toBeLessThanOrEqual(1e-5);
    }
    // Composing again with the same routing does nothing.
    expect(r.recomposedAgain).toBe(false);
  }
});
