import { describe, expect, it } from 'vitest';
import { Rng } from '../tensor/random.ts';
import { dequantizeF16, dequantizeInt8Rows, quantizeF16, quantizeInt8Rows } from './index.ts';

describe('int8 per-row', () => {
  it('error <= scale/2 per element; scale = max|row|/127; extremes map to ±127', () => {
    const rng = new Rng(4);
    const rows = 37, cols = 53;
    const w = Float32Array.from({ length: rows * cols }, (_, i) => rng.normal() * (1 + (i % 7)) * 0.01);
    const t = quantizeInt8Rows(w, [rows, cols], 'w');
    const d = dequantizeInt8Rows(t);
    let worst = 0;
    for (let i = 0; i < rows; i++) {
      let m = 0;
      for (let j = 0; j < cols; j++) m = Math.max(m, Math.abs(w[i * cols + j]!));
      expect(t.scale[i]).toBe(Math.fround(m / 127));
      for (let j = 0; j < cols; j++) {
        const err = Math.abs(w[i * cols + j]! - d[i * cols + j]!);
        worst = Math.max(worst, err / t.scale[i]!);
        expect(err).toBeLessThanOrEqual((t.scale[i]! / 2) * (1 + 1e-6));
        if (Math.abs(w[i * cols + j]!) === m) expect(Math.abs(t.q[i * cols + j]!)).toBe(127);
      }
    }
    console.log(`int8 worst |err|/scale = ${worst.toFixed(4)} (bound 0.5)`);
  });
  it('hand-computed row, ties away from zero, zero rows, 1-D', () => {
    // max 1.27 -> scale 0.01; 0.005 -> 0.5 -> 1 (away from zero); -0.005 -> -1; -0.015 -> -1.5 -> -2
    const t = quantizeInt8Rows(new Float32Array([1.27, 0.005, -0.005, -0.015, 0, 0, 0, 0]), [2, 4]);
    expect(t.scale[0]).toBeCloseTo(0.01, 9);
    expect(Array.from(t.q)).toEqual([127, 1, -1, -2, 0, 0, 0, 0]);
    expect(t.scale[1]).toBe(0);
    expect(Array.from(dequantizeInt8Rows(t).slice(4))).toEqual([0, 0, 0, 0]);
    const v = quantizeInt8Rows(new Float32Array([2, -1]), [2]);
    expect([v.rows, v.cols]).toEqual([1, 2]);
  });
  it('refuses non-finite values and bad shapes, naming the tensor', () => {
    expect(() => quantizeInt8Rows(new Float32Array([1, Infinity]), [1, 2], 'model.norm.weight')).toThrow(/model.norm.weight: non-finite/);
    expect(() => quantizeInt8Rows(new Float32Array(8), [2, 2, 2])).toThrow(/1-D or 2-D/);
  });
});

describe('fp16', () => {
  it('relative error <= 2^-11 in the normal range; exact round trip of representable values', () => {
    const rng = new Rng(8);
    const w = Float32Array.from({ length: 5000 }, () => rng.normal() * 10 ** (rng.int(8) - 4));
    const back = dequantizeF16(quantizeF16(w));
    let worst = 0;
    w.forEach((x, i) => {
      if (Math.abs(x) < 2 ** -14) return; // subnormal f16 range: absolute error instead
      const rel = Math.abs(back[i]! - x) / Math.abs(x);
      worst = Math.max(worst, rel);
      expect(rel).toBeLessThanOrEqual(2 ** -11);
    });
    console.log(`fp16 worst relative error = ${worst.toExponential(3)} (bound ${(2 ** -11).toExponential(3)})`);
    const exact = new Float32Array([0, -0, 1, -2.5, 65504, 2 ** -24]);
    expect(Array.from(dequantizeF16(quantizeF16(exact)))).toEqual(Array.from(exact));
  });
  it('refuses overflow and non-finite values', () => {
    expect(() => quantizeF16(new Float32Array([70000]), 'lm_head.weight')).toThrow(/lm_head.weight.*overflows/);
    expect(() => quantizeF16(new Float32Array([NaN]), 'x')).toThrow(/non-finite/);
  });
});
