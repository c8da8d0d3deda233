import { describe, expect, it } from 'vitest';
import { Rng } from '../tensor/random.ts';
import { chooseSvdMethod, eckartYoungError, energyCurve, factorError, frobenius2, singularValues, truncatedSvd, truncatedSvdAsync, type MatrixProducts } from './svd.ts';

/** k orthonormal rows of length len (Gram-Schmidt on Gaussians). */
function orthoRows(k: number, len: number, rng: Rng): Float64Array {
  const x = new Float64Array(k * len);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  for (let c = 0; c < k; c++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < c; p++) {
        let d = 0;
        for (let i = 0; i < len; i++) d += x[c * len + i]! * x[p * len + i]!;
        for (let i = 0; i < len; i++) x[c * len + i]! -= d * x[p * len + i]!;
      }
    }
    let n = 0;
    for (let i = 0; i < len; i++) n += x[c * len + i]! ** 2;
    n = Math.sqrt(n);
    for (let i = 0; i < len; i++) x[c * len + i]! /= n;
  }
  return x;
}

/** M = sum_i s_i u_i v_i^T with random orthonormal u, v: a [rows, cols] matrix of known spectrum. */
function withSpectrum(rows: number, cols: number, s: number[], seed: number): Float64Array {
  const rng = new Rng(seed);
  const u = orthoRows(s.length, rows, rng);
  const v = orthoRows(s.length, cols, rng);
  const m = new Float64Array(rows * cols);
  s.forEach((si, t) => {
    for (let i = 0; i < rows; i++) {
      const a = si * u[t * rows + i]!;
      for (let j = 0; j < cols; j++) m[i * cols + j]! += a * v[t * cols + j]!;
    }
  });
  return m;
}

const decay = (n: number, tau: number) => Array.from({ length: n }, (_, i) => Math.exp(-i / tau));
const ratios: string[] = [];

describe('truncatedSvd vs Eckart-Young', () => {
  const cases: [string, number, number, number[], number, 'exact' | 'randomized'][] = [
    ['tall exact', 60, 40, decay(40, 6), 5, 'exact'],
    ['wide exact', 40, 60, decay(40, 6), 10, 'exact'],
    ['square exact', 50, 50, decay(50, 10), 20, 'exact'],
    ['tall randomized', 600, 300, decay(300, 10), 16, 'randomized'],
    ['wide randomized', 300, 640, decay(300, 8), 24, 'randomized'],
    ['slow decay 1/(1+i) randomized', 500, 300, Array.from({ length: 300 }, (_, i) => 1 / (1 + i)), 16, 'randomized'],
  ];
  for (const [label, rows, cols, s, r, method] of cases) {
    it(`${label} [${rows}x${cols}] r=${r}: within 1% of optimal`, () => {
      const m = withSpectrum(rows, cols, s, rows + cols);
      const f = truncatedSvd(m, rows, cols, r, { method, seed: 1 });
      expect(f.method).toBe(method);
      expect(f.B.length).toBe(rows * r);
      expect(f.A.length).toBe(r * cols);
      const opt = eckartYoungError(singularValues(m, rows, cols), r);
      const optKnown = eckartYoungError(s, r);
      expect(opt / optKnown).toBeCloseTo(1, 6);
      const err = factorError(m, f);
      const ratio = err / opt;
      ratios.push(`${label} [${rows}x${cols}] r=${r} (${method}): error/optimal = ${ratio.toFixed(6)}`);
      expect(ratio).toBeLessThanOrEqual(1.01);
      expect(ratio).toBeGreaterThan(1 - 1e-4); // float32 output cannot beat the optimum
      for (let i = 0; i < r; i++) expect(f.singularValues[i]! / s[i]!).toBeCloseTo(1, 3);
    });
  }
  it('Float32Array input (random Gaussian, flat spectrum) auto method', () => {
    const rng = new Rng(9);
    const rows = 96, cols = 64;
    const m = Float32Array.from({ length: rows * cols }, () => rng.normal());
    const f = truncatedSvd(m, rows, cols, 16);
    const ratio = factorError(m, f) / eckartYoungError(singularValues(m, rows, cols), 16);
    ratios.push(`gaussian f32 [96x64] r=16 (${f.method}): error/optimal = ${ratio.toFixed(6)}`);
    expect(ratio).toBeLessThanOrEqual(1.01);
  });
  it('exactly low-rank matrices are reproduced (error ~0), both methods', () => {
    for (const [rows, cols, rank, method] of [
      [50, 30, 5, 'exact'],
      [30, 50, 5, 'exact'],
      [400, 300, 8, 'randomized'],
      [300, 400, 8, 'randomized'],
    ] as const) {
      const m = withSpectrum(rows, cols, decay(rank, 2).map((x) => 3 * x), 7);
      const f = truncatedSvd(m, rows, cols, rank, { method });
      const rel = factorError(m, f) / Math.sqrt(frobenius2(m));
      ratios.push(`rank-${rank} [${rows}x${cols}] (${method}): relative error = ${rel.toExponential(2)}`);
      expect(rel).toBeLessThan(1e-6);
    }
  });
  it('rank above min(rows, cols) is clamped and reproduces the matrix', () => {
    const rng = new Rng(2);
    const m = Float64Array.from({ length: 20 * 8 }, () => rng.normal());
    for (const method of ['exact', 'randomized'] as const) {
      const f = truncatedSvd(m, 20, 8, 12, { method });
      expect(f.rank).toBe(8);
      expect(factorError(m, f) / Math.sqrt(frobenius2(m))).toBeLessThan(1e-6);
    }
    const w = truncatedSvd(Float64Array.from({ length: 8 * 20 }, () => rng.normal()), 8, 20, 100);
    expect(w.rank).toBe(8);
  });
  it('zero matrix, rank 0 and 1x1', () => {
    const z = truncatedSvd(new Float32Array(12), 3, 4, 2);
    expect(z.rank).toBe(2);
    expect(Array.from(z.B).every((x) => x === 0) && Array.from(z.A).every((x) => x === 0)).toBe(true);
    const r0 = truncatedSvd(new Float32Array([1, 2, 3, 4]), 2, 2, 0);
    expect([r0.rank, r0.B.length, r0.A.length]).toEqual([0, 0, 0]);
    const one = truncatedSvd(new Float32Array([-4]), 1, 1, 1);
    expect(one.B[0]! * one.A[0]!).toBeCloseTo(-4, 6);
    expect(() => truncatedSvd(new Float32Array(5), 2, 3, 1)).toThrow(/not \[2, 3\]/);
  });
  it('prints the ratios', () => {
    console.log(ratios.join('\n'));
  });
});

/** Float32 products as an engine computes them (inputs float32, float32 accumulation): an independent stand-in for onnxruntime's MatMul. */
const f32Products: MatrixProducts & { calls: number } = {
  calls: 0,
  async xtMt(m, rows, cols, xt, k) {
    this.calls++;
    const y = new Float32Array(k * rows);
    for (let c = 0; c < k; c++)
      for (let i = 0; i < rows; i++) {
        let s = 0;
        for (let j = 0; j < cols; j++) s = Math.fround(s + Math.fround(xt[c * cols + j]! * m[i * cols + j]!));
        y[c * rows + i] = s;
      }
    return y;
  },
  async qtM(m, rows, cols, qt, k) {
    this.calls++;
    const z = new Float32Array(k * cols);
    for (let c = 0; c < k; c++)
      for (let i = 0; i < rows; i++) {
        const a = qt[c * rows + i]!;
        for (let j = 0; j < cols; j++) z[c * cols + j] = Math.fround(z[c * cols + j]! + Math.fround(a * m[i * cols + j]!));
      }
    return z;
  },
};

describe('truncatedSvdAsync with float32 products (CholeskyQR2, Gram-Schmidt fallback)', () => {
  const cases: [string, number, number, number[], number, number][] = [
    ['tall, fast decay', 600, 300, decay(300, 10), 16, 1.01],
    ['wide, slow decay 1/(1+i)', 300, 500, Array.from({ length: 300 }, (_, i) => 1 / (1 + i)), 16, 1.01],
    ['ill-conditioned sketch (sigma down to e^-150)', 400, 300, decay(300, 2), 16, 1.05],
  ];
  for (const [label, rows, cols, spec, r, bound] of cases) {
    it(`${label} [${rows}x${cols}] r=${r}: near the optimum`, async () => {
      const m = Float32Array.from(withSpectrum(rows, cols, spec, rows + cols));
      const f = await truncatedSvdAsync(m, rows, cols, r, { seed: 1 }, f32Products);
      expect(f.method).toBe('randomized');
      const opt = eckartYoungError(spec, r);
      const ratio = factorError(m, f) / opt;
      ratios.push(`float32 products, ${label} [${rows}x${cols}] r=${r}: error/optimal = ${ratio.toFixed(6)}`);
      expect(ratio).toBeLessThanOrEqual(bound);
      for (let i = 0; i < r; i++) expect(f.singularValues[i]! / spec[i]!).toBeCloseTo(1, 3);
    });
  }
  it('an exactly low-rank matrix (dependent sketch rows: the Gram-Schmidt fallback) and the zero matrix', async () => {
    const m = Float32Array.from(withSpectrum(400, 300, decay(8, 2).map((x) => 3 * x), 7));
    const f = await truncatedSvdAsync(m, 400, 300, 8, {}, f32Products);
    expect(factorError(m, f) / Math.sqrt(frobenius2(m))).toBeLessThan(1e-5);
    const z = await truncatedSvdAsync(new Float32Array(400 * 300), 400, 300, 8, {}, f32Products);
    expect(Array.from(z.B).every((x) => x === 0)).toBe(true);
  });
  it('uses the products for the big matrices only; small ones stay exact (and float64)', async () => {
    f32Products.calls = 0;
    const m = withSpectrum(60, 40, decay(40, 6), 3);
    const f = await truncatedSvdAsync(m, 60, 40, 5, {}, f32Products);
    expect(f.method).toBe('exact');
    expect(f32Products.calls).toBe(0);
    expect(Array.from(f.A)).toEqual(Array.from(truncatedSvd(m, 60, 40, 5).A));
  });
});

describe('spectrum helpers', () => {
  it('singular values match a known spectrum; energy curve', () => {
    const s = [5, 3, 2, 1, 0.5];
    const m = withSpectrum(12, 9, s, 3);
    const sv = singularValues(m, 12, 9);
    expect(sv.length).toBe(9);
    s.forEach((x, i) => expect(sv[i]).toBeCloseTo(x, 8));
    for (let i = 5; i < 9; i++) expect(sv[i]!).toBeLessThan(1e-6);
    const e = energyCurve(s);
    const tot = s.reduce((a, b) => a + b * b, 0);
    expect(e[0]).toBe(0);
    expect(e[1]).toBeCloseTo(25 / tot, 12);
    expect(e[5]).toBe(1);
    expect(Array.from(energyCurve([0, 0]))).toEqual([1, 1, 1]);
  });
  it('auto picks exact for small or near-full-rank, randomized for large low-rank', () => {
    expect(chooseSvdMethod(352, 128, 32)).toBe('exact');
    expect(chooseSvdMethod(576, 576, 400)).toBe('exact');
    expect(chooseSvdMethod(1536, 576, 32)).toBe('randomized');
    expect(chooseSvdMethod(576, 1536, 32)).toBe('randomized');
  });
});
