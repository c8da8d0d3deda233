// The randomized SVD's products on onnxruntime-node's MatMul (what pack uses) against float64 loops.
import { describe, expect, it } from 'vitest';
import { eckartYoungError, factorError, singularValues, truncatedSvd, truncatedSvdAsync } from '../core/linalg/index.ts';
import { Rng } from '../core/tensor/random.ts';
import { createOrtMatrixProducts } from './matrixProducts.ts';
import { loadNodeOrt, nodeSessionOptions } from './node/session.ts';

describe('createOrtMatrixProducts (onnxruntime-node, cpu)', () => {
  it('Xt M^T and Qt M equal float64 products; truncatedSvdAsync on them is as good as the float64 method', async () => {
    const products = await createOrtMatrixProducts(await loadNodeOrt('cpu'), nodeSessionOptions('cpu', 2));
    try {
      const rng = new Rng(5);
      const [rows, cols, k] = [70, 45, 9];
      const m = Float32Array.from({ length: rows * cols }, () => rng.normal());
      const xt = Float32Array.from({ length: k * cols }, () => rng.normal());
      const qt = Float32Array.from({ length: k * rows }, () => rng.normal());
      const y = await products.xtMt(m, rows, cols, xt, k);
      const z = await products.qtM(m, rows, cols, qt, k);
      expect([y.length, z.length]).toEqual([k * rows, k * cols]);
      for (let c = 0; c < k; c++) {
        for (let i = 0; i < rows; i++) {
          let s = 0;
          for (let j = 0; j < cols; j++) s += xt[c * cols + j]! * m[i * cols + j]!;
          expect(Math.abs(y[c * rows + i]! - s)).toBeLessThan(1e-4);
        }
        for (let j = 0; j < cols; j++) {
          let s = 0;
          for (let i = 0; i < rows; i++) s += qt[c * rows + i]! * m[i * cols + j]!;
          expect(Math.abs(z[c * cols + j]! - s)).toBeLessThan(1e-4);
        }
      }
      // A [600, 300] matrix with a decaying spectrum plus noise, rank 16.
      const [R, C] = [600, 300];
      const u = Float32Array.from({ length: R * 24 }, () => rng.normal());
      const v = Float32Array.from({ length: 24 * C }, () => rng.normal());
      const big = new Float32Array(R * C);
      for (let i = 0; i < R; i++)
        for (let t = 0; t < 24; t++) {
          const a = u[i * 24 + t]! * Math.exp(-t / 4);
          for (let j = 0; j < C; j++) big[i * C + j]! += a * v[t * C + j]!;
        }
      for (let i = 0; i < big.length; i++) big[i]! += 0.01 * rng.normal();
      const opt = eckartYoungError(singularValues(big, R, C), 16);
      const viaOrt = await truncatedSvdAsync(big, R, C, 16, { seed: 3 }, products);
      const f64 = truncatedSvd(big, R, C, 16, { seed: 3 });
      expect(viaOrt.method).toBe('randomized');
      expect(factorError(big, viaOrt) / opt).toBeLessThan(1.01);
      for (let i = 0; i < 16; i++) expect(viaOrt.singularValues[i]! / f64.singularValues[i]!).toBeCloseTo(1, 4);
    } finally {
      await products.release();
    }
  });
});
