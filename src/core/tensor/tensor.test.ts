import { describe, expect, it } from 'vitest';
import { Rng, deriveSeed, hashString } from './random.ts';
import { numel, tensor, transpose, assertFinite, firstNonFinite } from './tensor.ts';

describe('Rng', () => {
  it('is deterministic by seed, uniform in [0,1), normal with mean 0 / var 1', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xa = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.nextU32())).not.toEqual(xa);
    const r = new Rng(1);
    let s = 0, s2 = 0, mn = 1, mx = 0;
    const N = 20000;
    for (let i = 0; i < N; i++) {
      const u = r.next();
      mn = Math.min(mn, u);
      mx = Math.max(mx, u);
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(mn).toBeGreaterThanOrEqual(0);
    expect(mx).toBeLessThan(1);
    expect(Math.abs(s / N)).toBeLessThan(0.03);
    expect(Math.abs(s2 / N - 1)).toBeLessThan(0.05);
  });
  it('derived seeds depend on every label', () => {
    expect(deriveSeed(1, 'a', 0)).toBe(deriveSeed(1, 'a', 0));
    expect(new Set([deriveSeed(1, 'a', 0), deriveSeed(1, 'a', 1), deriveSeed(1, 'b', 0), deriveSeed(2, 'a', 0)]).size).toBe(4);
    expect(hashString('')).toBe(0x811c9dc5);
  });
});

describe('tensor helpers', () => {
  it('numel, tensor, transpose, assertFinite', () => {
    expect(numel([2, 3, 4])).toBe(24);
    expect(numel([])).toBe(1);
    expect(() => numel([2, -1])).toThrow();
    expect(() => tensor([2, 2], new Float32Array(3))).toThrow(/needs 4/);
    expect(Array.from(transpose(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3))).toEqual([1, 4, 2, 5, 3, 6]);
    expect(() => assertFinite([1, Infinity], 'w')).toThrow(/w: non-finite value Infinity at index 1/);
    expect(() => assertFinite(new Float32Array([0, 1, NaN]), 'f (t)')).toThrow('f (t): non-finite value NaN at index 2');
    expect(firstNonFinite(new Float32Array([1, 2, 3]))).toBe(-1);
    expect(firstNonFinite([1, -Infinity, NaN])).toBe(1);
  });
});
