import { expect, test } from '@playwright/test';
import type { CaseSpec, CheckResult } from './harness/composer.ts';

type Harness = {
  check(
    cases: CaseSpec[],
    routing: Record<string, number>,
    seed: number,
    skipBelow?: number,
    kernel?: 'tiled' | 'flat',
    output?: 'f32' | 'f16',
    before?: Record<string, number>,
  ): Promise<{ results: CheckResult[]; recomposedAgain: boolean; plan: 'full' | 'delta' | undefined; memory: { buffers: number } }>;
};

const shapes: [number, number][] = [[1, 1], [17, 33], [65, 7], [128, 352], [31, 129], [352, 128], [3, 200], [20, 9], [32, 6], [12, 20]]; // the flat kernel's blocks: [128, 352] 16 outputs × 4 rows, [32, 6] 16 × 2, [12, 20] 4 × 4, [20, 9] 4 × 1
const cases: CaseSpec[] = (['f32', 'f16', 'int8'] as const).flatMap((dtype) => shapes.map(([outDim, inDim]) => ({ outDim, inDim, dtype })));

for (const [kernel, output] of [['tiled', 'f32'], ['flat', 'f32'], ['flat', 'f16']] as const)
test(`WGSL composer (${kernel}, ${output} output) equals a float64 reference for odd shapes, three shared dtypes and four experts`, async ({ page }) => {
  await page.goto('/e2e/harness/composer.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  // The last two compose after another routing: only the experts whose weight moved are added
  // (in place, f32 outputs; composePlan.ts), and the result must equal composing from scratch.
  for (const [seed, routing, before] of [
    [1, { e0: 0.4, e1: 0.3, e2: 0.2, e3: 0.1 }, undefined],
    [2, { e0: 0, e1: 1, e2: 0, e3: 0 }, undefined],
    [3, { e0: 0.6, e1: -0.25, e2: 0.0001, e3: 0.35 }, undefined], // e2 is below the skip threshold
    [4, { e0: 0.4, e1: 0.3, e2: 0.25, e3: 0.05 }, { e0: 0.4, e1: 0.3, e2: 0.2, e3: 0.1 }], // two weights moved
    [5, { e0: 0.6, e1: -0.25, e2: 0.3, e3: 0.35 }, { e0: 0.6, e1: -0.25, e3: 0.35 }], // one expert joined
  ] as [number, Record<string, number>, Record<string, number> | undefined][]) {
    const r = await page.evaluate(
      ({ cases, routing, seed, kernel, output, before }) => (window as unknown as { composerHarness: Harness }).composerHarness.check(cases, routing, seed, 1e-3, kernel, output, before),
      { cases, routing, seed, kernel, output, before },
    );
    expect(r.plan, `seed ${seed}`).toBe(before && output === 'f32' ? 'delta' : 'full');
    expect(r.results).toHaveLength(cases.length);
    for (const c of r.results) {
      expect(c.relErr, `${c.dtype} [${c.shape}] seed ${seed}: max abs err ${c.maxAbsErr} of ${c.maxAbsRef}`).toBeLessThanOrEqual(output === 'f16' ? 1e-3 : 1e-5); // f16 output: one half-precision rounding
    }
    // Composing again with the same routing does nothing.
    expect(r.recomposedAgain).toBe(false);
  }
});
