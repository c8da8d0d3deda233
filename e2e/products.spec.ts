// The randomized SVD's products in WGSL (what the worker factors a dropped checkpoint with on WebGPU)
// against float64, on SwiftShader: odd shapes, several Xt/Qt heights, M split into row blocks.
import { expect, test } from '@playwright/test';
import type { ProductCase } from './harness/products.ts';

type Harness = {
  products(cases: ProductCase[], seed: number): Promise<(ProductCase & { lengths: number[]; xtMt: number; qtM: number })[]>;
  svd(rows: number, cols: number, rank: number, seed: number): Promise<{ method: string; gpuMs: number; productRelDiff: number; gpuOverOptimal: number; f64OverOptimal: number }>;
};

test('WGSL Xt M^T and Qt M equal float64 products; the randomized SVD on them equals the float64 one', async ({ page }) => {
  await page.goto('/e2e/harness/products.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  const cases: ProductCase[] = [
    { rows: 1, cols: 1, k: 1 },
    { rows: 70, cols: 45, k: 9 },
    { rows: 17, cols: 333, k: 26 },
    { rows: 333, cols: 17, k: 3 },
    { rows: 130, cols: 50, k: 16, maxBlockBytes: 50 * 4 * 7 }, // M split into 22 row blocks (6 rows of 52 padded columns each)
    { rows: 9, cols: 1000, k: 9 }, // the orthonormalisation's shape: a few long rows
  ];
  const r = await page.evaluate(({ cases }) => (window as unknown as { productsHarness: Harness }).productsHarness.products(cases, 11), { cases });
  for (const c of r) {
    expect(c.lengths, `[${c.rows}, ${c.cols}] k ${c.k}`).toEqual([c.k * c.rows, c.k * c.cols]);
    expect(c.xtMt, `Xt M^T [${c.rows}, ${c.cols}] k ${c.k}`).toBeLessThan(1e-5);
    expect(c.qtM, `Qt M [${c.rows}, ${c.cols}] k ${c.k}`).toBeLessThan(1e-5);
  }
  // Big enough for the randomized method (min side > 256).
  const s = await page.evaluate(() => (window as unknown as { productsHarness: Harness }).productsHarness.svd(600, 300, 16, 3));
  console.log(`randomized SVD [600, 300] rank 16 on WGSL products: ${s.gpuMs.toFixed(0)} ms; B A vs float64 ${s.productRelDiff.toExponential(2)}`);
  expect(s.method).toBe('randomized');
  expect(s.productRelDiff).toBeLessThan(1e-4);
  expect(s.gpuOverOptimal).toBeLessThan(1.01);
  expect(s.gpuOverOptimal / s.f64OverOptimal).toBeCloseTo(1, 4);
});
