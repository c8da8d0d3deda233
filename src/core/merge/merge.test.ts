import { describe, expect, it } from 'vitest';
import { createMerger, dare, dareTies, getMergeMethod, MERGE_METHOD_NAMES, mergeWith, taskArithmetic, ties, trimTopK, quickselect } from './index.ts';
import { Rng } from '../tensor/random.ts';

const f = (...v: number[]) => new Float32Array(v);
const ctx = { name: 'model.layers.0.mlp.up_proj.weight' };
const arr = (x: Float32Array) => Array.from(x);

describe('registry', () => {
  it('lists the four methods and resolves them', () => {
    expect(MERGE_METHOD_NAMES).toEqual(['task_arithmetic', 'ties', 'dare', 'dare_ties']);
    for (const n of MERGE_METHOD_NAMES) expect(getMergeMethod(n).name).toBe(n);
  });
  it('unknown name -> error listing the known ones', () => {
    expect(() => getMergeMethod('slerp')).toThrow(/unknown merge method.*task_arithmetic, ties, dare, dare_ties/);
  });
  it('validates parameters and fills defaults', () => {
    expect(createMerger('ties').params).toEqual({ lambda: 1, density: 0.2 });
    expect(createMerger('task_arithmetic', { lambda: 0.25 }).manifest).toEqual({ method: 'task_arithmetic', lambda: 0.25, params: {} });
    expect(createMerger('dare', { dropRate: 0.5, seed: 7 }).manifest).toEqual({ method: 'dare', lambda: 0.3, params: { dropRate: 0.5, seed: 7 } });
    expect(() => createMerger('ties', { density: 0 })).toThrow(/ties.*density/);
    expect(() => createMerger('dare', { dropRate: 1 })).toThrow(/dropRate/);
    expect(() => createMerger('task_arithmetic', { lamda: 1 })).toThrow(/lamda|Unrecognized/i);
    expect(() => createMerger('task_arithmetic', { lambda: -1 })).toThrow(/lambda/);
  });
  it('rejects mismatched lengths and non-finite values, naming the tensor', () => {
    const m = createMerger('task_arithmetic');
    expect(() => m.merge([f(1, 2), f(1)], ctx)).toThrow(/up_proj.*task 1/);
    expect(() => m.merge([f(1, NaN)], ctx)).toThrow(/non-finite.*index 1/);
    expect(() => m.merge([], ctx)).toThrow(/no task vectors/);
  });
});

describe('task_arithmetic', () => {
  it('lambda * sum', () => {
    const out = mergeWith(taskArithmetic, [f(1, -2, 0), f(3, 2, 0)], { lambda: 0.5 }, ctx);
    expect(arr(out)).toEqual([2, 0, 0]);
  });
  it('lambda 0 gives no shared part', () => {
    expect(arr(mergeWith(taskArithmetic, [f(1, 2)], { lambda: 0 }, ctx))).toEqual([0, 0]);
  });
});

describe('magnitude trim', () => {
  it('keeps the top-k magnitudes', () => {
    expect(arr(trimTopK(f(0.1, -5, 3, -0.2, 4), 3))).toEqual([0, -5, 3, 0, 4]);
  });
  it('ties at the threshold: lowest flat index wins, exactly k kept', () => {
    // magnitudes 2,1,2,2,3 ; k=3 -> 3 (idx 4) plus two of the three 2s: idx 0 and 2
    expect(arr(trimTopK(f(2, 1, -2, 2, 3), 3))).toEqual([2, 0, -2, 0, 3]);
    // all equal
    expect(arr(trimTopK(f(-1, 1, -1, 1), 2))).toEqual([-1, 1, 0, 0]);
  });
  it('all-zero tensor stays zero', () => {
    expect(arr(trimTopK(f(0, 0, 0, 0), 2))).toEqual([0, 0, 0, 0]);
  });
  it('quickselect agrees with sorting (random, with duplicates)', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + rng.int(60);
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = rng.int(8);
      const sorted = Array.from(a).sort((x, y) => x - y);
      const k = rng.int(n);
      expect(quickselect(a.slice(), k)).toBe(sorted[k]);
    }
  });
});

describe('ties', () => {
  it('hand-computed case with a sign conflict', () => {
    // density 1 (no trim). param0: +3,-1,+1 -> total +3 -> mean(3,1)=2
    // param1: -4,+1,+1 -> total -2 -> only -4 agrees -> -4
    // param2: 0,0,+2 -> total 2 -> mean over agreeing (only the nonzero) = 2
    // param3: +1,-1,0 -> total 0 -> sgn 0 -> 0 (no task agrees)
    const out = mergeWith(ties, [f(3, -4, 0, 1), f(-1, 1, 0, -1), f(1, 1, 2, 0)], { lambda: 1, density: 1 }, ctx);
    expect(arr(out)).toEqual([2, -4, 2, 0]);
  });
  it('trim then elect: hand-computed with density 0.5', () => {
    // task A: [4, -1, 0.5, -3] -> top2: [4, 0, 0, -3]
    // task B: [-2, 2, 1, -1]   -> top2 (ties at |2|: idx0, idx1): [-2, 2, 0, 0]
    // task C: [1, 0, -5, 2]    -> top2: [0, 0, -5, 2]
    // p0: 4-2 = 2 >0 -> mean(4) = 4 ; p1: 2 -> 2 ; p2: -5 -> -5 ; p3: -3+2=-1 -> -3
    const out = mergeWith(ties, [f(4, -1, 0.5, -3), f(-2, 2, 1, -1), f(1, 0, -5, 2)], { lambda: 0.5, density: 0.5 }, ctx);
    expect(arr(out)).toEqual([2, 1, -2.5, -1.5]);
  });
  it('density 1 equals plain disjoint mean (random check against a direct formula)', () => {
    const rng = new Rng(11);
    const T = 4, n = 200;
    const ds = Array.from({ length: T }, () => Float32Array.from({ length: n }, () => (rng.int(3) === 0 ? 0 : rng.normal())));
    const out = mergeWith(ties, ds, { lambda: 1, density: 1 }, ctx);
    for (let j = 0; j < n; j++) {
      const v = ds.map((d) => d[j]!);
      const s = Math.sign(v.reduce((a, b) => a + b, 0));
      const agree = v.filter((x) => x !== 0 && Math.sign(x) === s);
      const want = agree.length ? agree.reduce((a, b) => a + b, 0) / agree.length : 0;
      expect(out[j]).toBeCloseTo(want, 5);
    }
  });
  it('all-zero entries stay zero; single task with density 1 is the identity times lambda', () => {
    expect(arr(mergeWith(ties, [f(0, 0), f(0, 0)], { lambda: 1, density: 0.5 }, ctx))).toEqual([0, 0]);
    expect(arr(mergeWith(ties, [f(1, -2, 3)], { lambda: 2, density: 1 }, ctx))).toEqual([2, -4, 6]);
  });
  it('is odd: merge(-tau) = -merge(tau)', () => {
    const rng = new Rng(5);
    const ds = Array.from({ length: 3 }, () => Float32Array.from({ length: 50 }, () => rng.normal()));
    const a = mergeWith(ties, ds, { lambda: 1, density: 0.3 }, ctx);
    const b = mergeWith(ties, ds.map((d) => d.map((x) => -x)), { lambda: 1, density: 0.3 }, ctx);
    for (let j = 0; j < 50; j++) expect(b[j]! + a[j]!).toBe(0);
  });
});

describe('dare', () => {
  const ds = [Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) + 0.5), Float32Array.from({ length: 1000 }, (_, i) => Math.cos(i))];
  it('dropRate 0 is task arithmetic', () => {
    expect(arr(mergeWith(dare, ds, { lambda: 0.3, dropRate: 0, seed: 1 }, ctx))).toEqual(arr(mergeWith(taskArithmetic, ds, { lambda: 0.3 }, ctx)));
  });
  it('deterministic by seed and tensor name; different seeds differ', () => {
    const p = { lambda: 1, dropRate: 0.5, seed: 42 };
    const a = mergeWith(dare, ds, p, ctx);
    expect(arr(mergeWith(dare, ds, p, ctx))).toEqual(arr(a));
    expect(arr(mergeWith(dare, ds, { ...p, seed: 43 }, ctx))).not.toEqual(arr(a));
    expect(arr(mergeWith(dare, ds, p, { name: 'other.weight' }))).not.toEqual(arr(a));
  });
  it('drops about p of the entries and rescales survivors by 1/(1-p)', () => {
    const x = new Float32Array(20000).fill(1);
    const out = mergeWith(dare, [x], { lambda: 1, dropRate: 0.75, seed: 3 }, ctx);
    let kept = 0;
    for (const v of out) {
      if (v !== 0) {
        kept++;
        expect(v).toBe(4);
      }
    }
    expect(kept / x.length).toBeGreaterThan(0.24);
    expect(kept / x.length).toBeLessThan(0.26);
  });
  it('expectation: the mean over many seeds approaches the undropped sum', () => {
    const small = [f(1, -2, 0.5, 3), f(0.5, 1, -1, 0)];
    const want = mergeWith(taskArithmetic, small, { lambda: 1 }, ctx);
    const acc = new Float64Array(4);
    const S = 4000;
    for (let s = 0; s < S; s++) {
      const o = mergeWith(dare, small, { lambda: 1, dropRate: 0.5, seed: s }, ctx);
      for (let j = 0; j < 4; j++) acc[j]! += o[j]! / S;
    }
    for (let j = 0; j < 4; j++) expect(Math.abs(acc[j]! - want[j]!)).toBeLessThan(0.1);
  });
});

describe('dare_ties', () => {
  it('dropRate 0 equals TIES with density 1 (plain disjoint mean)', () => {
    const ds = [f(3, -4, 0, 1), f(-1, 1, 0, -1), f(1, 1, 2, 0)];
    expect(arr(mergeWith(dareTies, ds, { lambda: 1, dropRate: 0, seed: 0 }, ctx))).toEqual([2, -4, 2, 0]);
  });
  it('applies the same drop as DARE, then elects signs', () => {
    const ds = [f(1, 1, 1, 1, 1, 1, 1, 1), f(-1, -1, -1, -1, -1, -1, -1, -1)];
    const p = { lambda: 1, dropRate: 0.5, seed: 9 };
    const dropped = mergeWith(dare, [ds[0]!], p, ctx); // task 0's drop pattern (same stream: seed, name, task 0)
    const droppedB = mergeWith(dare, [new Float32Array(8), ds[1]!], p, ctx); // task 1's pattern
    const out = mergeWith(dareTies, ds, p, ctx);
    for (let j = 0; j < 8; j++) {
      const a = dropped[j]!, b = droppedB[j]!;
      const total = a + b;
      const want = total > 0 ? a : total < 0 ? b : 0;
      expect(out[j]).toBe(want);
    }
  });
});
