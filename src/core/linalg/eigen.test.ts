import { describe, expect, it } from 'vitest';
import { symmetricEigen } from './eigen.ts';
import { Rng } from '../tensor/random.ts';

function randomSym(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  return a;
}

describe('symmetricEigen', () => {
  it('A v = lambda v and orthonormal vectors (random 1..40)', () => {
    for (const n of [1, 2, 3, 7, 40]) {
      const a = randomSym(n, n);
      const { values, vectors } = symmetricEigen(a, n);
      for (let j = 1; j < n; j++) expect(values[j]!).toBeLessThanOrEqual(values[j - 1]!);
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) {
          let av = 0;
          for (let k = 0; k < n; k++) av += a[i * n + k]! * vectors![j * n + k]!;
          expect(Math.abs(av - values[j]! * vectors![j * n + i]!)).toBeLessThan(1e-10 * n);
        }
        for (let j2 = 0; j2 < n; j2++) {
          let dot = 0;
          for (let k = 0; k < n; k++) dot += vectors![j * n + k]! * vectors![j2 * n + k]!;
          expect(Math.abs(dot - (j === j2 ? 1 : 0))).toBeLessThan(1e-12 * n);
        }
      }
    }
  });
  it('values-only agrees with the full decomposition; handles diagonal, zero and repeated eigenvalues', () => {
    const a = randomSym(30, 4);
    const full = symmetricEigen(a, 30).values;
    const only = symmetricEigen(a, 30, false).values;
    for (let j = 0; j < 30; j++) expect(only[j]!).toBeCloseTo(full[j]!, 10);
    const diag = new Float64Array([3, 0, 0, 0, 0, 0, 0, 0, 3]);
    expect(Array.from(symmetricEigen(diag, 3).values)).toEqual([3, 3, 0]);
    expect(Array.from(symmetricEigen(new Float64Array(16), 4).values)).toEqual([0, 0, 0, 0]);
  });
});
