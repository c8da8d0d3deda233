// Runs in Chromium: the randomized SVD's products in WGSL (src/runtime/gpuMatrixProducts.ts) against
// float64 loops written here, and truncatedSvdAsync on them against the float64 method.
import { eckartYoungError, factorError, multiplyFactors, singularValues, truncatedSvd, truncatedSvdAsync } from '../../src/core/linalg/index.ts';
import { Rng } from '../../src/core/tensor/random.ts';
import { createWebGpuDevice } from '../../src/runtime/browser.ts';
import { createGpuMatrixProducts } from '../../src/runtime/gpuMatrixProducts.ts';

export interface ProductCase {
  rows: number;
  cols: number;
  k: number;
  /** Row blocks of M no larger than this (exercises M split across buffers). */
  maxBlockBytes?: number;
}

const relErr = (a: ArrayLike<number>, ref: ArrayLike<number>) => {
  let d = 0;
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    d += (a[i]! - ref[i]!) ** 2;
    n += ref[i]! ** 2;
  }
  return Math.sqrt(d / Math.max(n, 1e-300));
};

const ctx = createWebGpuDevice();

const api = {
  /** For each case: relative Frobenius errors of Xt M^T and Qt M against float64, and their lengths. */
  async products(cases: ProductCase[], seed: number) {
    const { device } = await ctx;
    const rng = new Rng(seed);
    const out = [];
    for (const c of cases) {
      const gpu = createGpuMatrixProducts(device, c.maxBlockBytes ? { maxBlockBytes: c.maxBlockBytes } : {});
      const m = Float32Array.from({ length: c.rows * c.cols }, () => rng.normal());
      const xt = Float32Array.from({ length: c.k * c.cols }, () => rng.normal());
      const qt = Float32Array.from({ length: c.k * c.rows }, () => rng.normal());
      const refY = new Float64Array(c.k * c.rows);
      const refZ = new Float64Array(c.k * c.cols);
      for (let k = 0; k < c.k; k++)
        for (let i = 0; i < c.rows; i++)
          for (let j = 0; j < c.cols; j++) {
            refY[k * c.rows + i]! += xt[k * c.cols + j]! * m[i * c.cols + j]!;
            refZ[k * c.cols + j]! += qt[k * c.rows + i]! * m[i * c.cols + j]!;
          }
      // Twice each: the second reuses M on the device.
      const y1 = await gpu.xtMt(m, c.rows, c.cols, xt, c.k);
      const z1 = await gpu.qtM(m, c.rows, c.cols, qt, c.k);
      const y2 = await gpu.xtMt(m, c.rows, c.cols, xt, c.k);
      const z2 = await gpu.qtM(m, c.rows, c.cols, qt, c.k);
      gpu.release();
      out.push({ ...c, lengths: [y1.length, z1.length], xtMt: Math.max(relErr(y1, refY), relErr(y2, refY)), qtM: Math.max(relErr(z1, refZ), relErr(z2, refZ)) });
    }
    return out;
  },

  /**
   * A [rows, cols] matrix with a decaying spectrum plus noise, factored at `rank` by the randomized
   * method on the WGSL products and in float64: the two products B A, their distance, and each one's
   * error against the optimal (Eckart-Young) one.
   */
  async svd(rows: number, cols: number, rank: number, seed: number) {
    const { device } = await ctx;
    const rng = new Rng(seed);
    const u = Float32Array.from({ length: rows * 24 }, () => rng.normal());
    const v = Float32Array.from({ length: 24 * cols }, () => rng.normal());
    const m = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++)
      for (let t = 0; t < 24; t++) {
        const a = u[i * 24 + t]! * Math.exp(-t / 4);
        for (let j = 0; j < cols; j++) m[i * cols + j]! += a * v[t * cols + j]!;
      }
    for (let i = 0; i < m.length; i++) m[i]! += 0.01 * rng.normal();
    const gpu = createGpuMatrixProducts(device);
    const t0 = performance.now();
    const viaGpu = await truncatedSvdAsync(m, rows, cols, rank, { seed }, gpu);
    const gpuMs = performance.now() - t0;
    gpu.release();
    const f64 = truncatedSvd(m, rows, cols, rank, { seed });
    const opt = eckartYoungError(singularValues(m, rows, cols), rank);
    return {
      method: viaGpu.method,
      gpuMs,
      productRelDiff: relErr(multiplyFactors(viaGpu), multiplyFactors(f64)),
      gpuOverOptimal: factorError(m, viaGpu) / opt,
      f64OverOptimal: factorError(m, f64) / opt,
    };
  },
  /** Milliseconds per product on a random [rows, cols] M (after one warm-up of each), M resident. */
  async time(rows: number, cols: number, k: number, reps = 3) {
    const { device } = await ctx;
    const rng = new Rng(1);
    const m = Float32Array.from({ length: rows * cols }, () => rng.normal());
    const xt = Float32Array.from({ length: k * cols }, () => rng.normal());
    const qt = Float32Array.from({ length: k * rows }, () => rng.normal());
    const gpu = createGpuMatrixProducts(device);
    const t0 = performance.now();
    await gpu.xtMt(m, rows, cols, xt, k);
    const firstMs = performance.now() - t0;
    await gpu.qtM(m, rows, cols, qt, k);
    let xtMtMs = 0;
    let qtMMs = 0;
    for (let r = 0; r < reps; r++) {
      const a = performance.now();
      await gpu.xtMt(m, rows, cols, xt, k);
      const b = performance.now();
      await gpu.qtM(m, rows, cols, qt, k);
      xtMtMs += b - a;
      qtMMs += performance.now() - b;
    }
    gpu.release();
    return { firstMs, xtMtMs: xtMtMs / reps, qtMMs: qtMMs / reps, gmacs: (rows * cols * k) / 1e9 };
  },
};
(window as unknown as { productsHarness: typeof api }).productsHarness = api;
document.body.dataset.ready = 'true';
