import { describe, expect, it } from 'vitest';
import { Rng } from '../tensor/random.ts';
import { allocateRanksByBudget, factorBytes, fixedRank, rankForEnergy, type RankCandidate } from './rank.ts';

describe('rank policies', () => {
  it('fixed rank clamps to min(rows, cols)', () => {
    expect(fixedRank(10, 4, 8)).toBe(4);
    expect(fixedRank(10, 40, 8)).toBe(8);
    expect(() => fixedRank(2, 2, -1)).toThrow();
  });
  it('energy threshold: smallest r keeping >= x of the energy', () => {
    const s = [3, 2, 1, 1]; // energies 9,4,1,1 of 15
    expect(rankForEnergy(s, 0)).toBe(0);
    expect(rankForEnergy(s, 0.6)).toBe(1); // 9/15 = 0.6 exactly
    expect(rankForEnergy(s, 0.61)).toBe(2);
    expect(rankForEnergy(s, 14 / 15)).toBe(3);
    expect(rankForEnergy(s, 1)).toBe(4);
    expect(rankForEnergy([0, 0], 0.9)).toBe(0);
    expect(rankForEnergy([3], 0.9, 100)).toBe(1); // prefix cannot reach: all of it
    expect(() => rankForEnergy(s, 1.5)).toThrow();
  });
});

describe('allocateRanksByBudget', () => {
  const a: RankCandidate = { name: 'a', rows: 3, cols: 1, singularValues: [4, 1, 0.5] }; // clamp: min(3,1)=1
  it('greedy picks the best marginal energy per byte', () => {
    // x: cost 4/elt*... use bytesPerElement 1: x costs 2 per rank, y costs 4 per rank.
    const x: RankCandidate = { name: 'x', rows: 1, cols: 1, singularValues: [2] }; // 4 energy / 2 bytes = 2
    const y: RankCandidate = { name: 'y', rows: 2, cols: 2, singularValues: [3, 2] }; // 9/4=2.25 then 4/4=1
    const r1 = allocateRanksByBudget([x, y], { budgetBytes: 4, bytesPerElement: 1 });
    expect(Object.fromEntries(r1.ranks)).toEqual({ x: 0, y: 1 });
    expect(r1.keptEnergy).toBe(9);
    const r2 = allocateRanksByBudget([x, y], { budgetBytes: 6, bytesPerElement: 1 });
    expect(Object.fromEntries(r2.ranks)).toEqual({ x: 1, y: 1 });
    const r3 = allocateRanksByBudget([x, y], { budgetBytes: 100, bytesPerElement: 1 });
    expect(Object.fromEntries(r3.ranks)).toEqual({ x: 1, y: 2 });
    expect(r3.bytes).toBe(2 + 8);
    expect(r3.keptEnergy).toBe(r3.totalEnergy);
    // a matrix whose next rank does not fit is skipped, a cheaper one still gets bytes
    const r4 = allocateRanksByBudget([x, y], { budgetBytes: 5, bytesPerElement: 1 });
    expect(Object.fromEntries(r4.ranks)).toEqual({ x: 0, y: 1 });
    const r5 = allocateRanksByBudget([y, x], { budgetBytes: 3, bytesPerElement: 1 });
    expect(Object.fromEntries(r5.ranks)).toEqual({ y: 0, x: 1 });
  });
  it('relative objective weighs each matrix by its own energy', () => {
    const big: RankCandidate = { name: 'big', rows: 1, cols: 1, singularValues: [10], totalEnergy: 1000 };
    const small: RankCandidate = { name: 'small', rows: 1, cols: 1, singularValues: [1], totalEnergy: 1 };
    expect(allocateRanksByBudget([big, small], { budgetBytes: 2, bytesPerElement: 1 }).ranks.get('big')).toBe(1);
    expect(allocateRanksByBudget([big, small], { budgetBytes: 2, bytesPerElement: 1, objective: 'relative' }).ranks.get('small')).toBe(1);
  });
  it('respects the budget and is optimal when costs are equal (vs brute force)', () => {
    const rng = new Rng(1);
    for (let trial = 0; trial < 30; trial++) {
      const cands: RankCandidate[] = Array.from({ length: 3 }, (_, i) => ({
        name: `m${i}`,
        rows: 2,
        cols: 2,
        singularValues: [0, 0].map(() => rng.next() * 3).sort((p, q) => q - p),
      }));
      const budget = rng.int(6) * 4;
      const res = allocateRanksByBudget(cands, { budgetBytes: budget, bytesPerElement: 1 });
      expect(res.bytes).toBeLessThanOrEqual(budget);
      let best = 0;
      for (let r0 = 0; r0 <= 2; r0++)
        for (let r1 = 0; r1 <= 2; r1++)
          for (let r2 = 0; r2 <= 2; r2++) {
            if ((r0 + r1 + r2) * 4 > budget) continue;
            const e = [r0, r1, r2].reduce((acc, r, i) => acc + Array.from(cands[i]!.singularValues).slice(0, r).reduce((p, s) => p + s * s, 0), 0);
            best = Math.max(best, e);
          }
      expect(res.keptEnergy).toBeCloseTo(best, 10);
    }
  });
  it('degenerate cases: zero budget, empty list, zero matrices, maxRank, clamps, duplicate names', () => {
    expect(Object.fromEntries(allocateRanksByBudget([a], { budgetBytes: 0, bytesPerElement: 2 }).ranks)).toEqual({ a: 0 });
    expect(allocateRanksByBudget([], { budgetBytes: 10, bytesPerElement: 2 }).bytes).toBe(0);
    const z: RankCandidate = { name: 'z', rows: 4, cols: 4, singularValues: [0, 0, 0, 0] };
    expect(allocateRanksByBudget([z], { budgetBytes: 1e9, bytesPerElement: 2 }).ranks.get('z')).toBe(0);
    expect(allocateRanksByBudget([a], { budgetBytes: 1e9, bytesPerElement: 2 }).ranks.get('a')).toBe(1);
    const w: RankCandidate = { name: 'w', rows: 8, cols: 8, singularValues: [5, 4, 3, 2, 1] };
    const r = allocateRanksByBudget([w], { budgetBytes: 1e9, bytesPerElement: 2, maxRank: 3 });
    expect(r.ranks.get('w')).toBe(3);
    expect(r.bytes).toBe(factorBytes(8, 8, 3, 2));
    expect(() => allocateRanksByBudget([a, a], { budgetBytes: 1, bytesPerElement: 1 })).toThrow(/duplicate/);
    expect(() => allocateRanksByBudget([a], { budgetBytes: -1, bytesPerElement: 1 })).toThrow();
  });
});
