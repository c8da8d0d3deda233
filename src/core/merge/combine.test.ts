import { describe, expect, it } from 'vitest';
import { createMerger, getMergeMethod, MERGE_METHOD_NAMES, type MergeContext } from './index.ts';

/** An independent, naive combination (float64, one parameter at a time) to check combine.ts against. */
function naive(name: string, params: Record<string, unknown> & { lambda: number }, deltas: Float32Array[], ctx: MergeContext): Float32Array {
  const m = getMergeMethod(name);
  const xs = deltas.map((d, t) => m.sparsify(d, t, params, ctx));
  return Float32Array.from(xs[0]!, (_, j) => {
    const vals = xs.map((x) => x[j]!);
    const total = vals.reduce((a, b) => a + b, 0);
    if (m.combine === 'sum') return params.lambda * total;
    const agree = vals.filter((v) => (total > 0 && v > 0) || (total < 0 && v < 0));
    return agree.length ? (params.lambda * agree.reduce((a, b) => a + b, 0)) / agree.length : 0;
  });
}

function randomDeltas(T: number, n: number, seed: number): Float32Array[] {
  let s = seed;
  const r = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296) * 2 - 1;
  return Array.from({ length: T }, () => Float32Array.from({ length: n }, () => (Math.abs(r()) < 0.1 ? 0 : r())));
}

describe('streamed merge', () => {
  for (const name of MERGE_METHOD_NAMES) {
    it(`${name}: reading one task vector at a time gives exactly merge()`, async () => {
      const m = createMerger(name, name === 'ties' ? { lambda: 0.7, density: 0.3 } : name.startsWith('dare') ? { lambda: 0.5, dropRate: 0.5, seed: 3 } : { lambda: 0.3 });
      for (const [T, n] of [[1, 7], [4, 257], [5, 1000]] as const) {
        const deltas = randomDeltas(T, n, T * 31 + n);
        const ctx = { name: `model.layers.0.w${n}`, shape: [n] };
        const reads: number[] = [];
        const streamed = await m.mergeStreamed(T, async (t) => (reads.push(t), deltas[t]!.slice()), ctx);
        expect(Array.from(streamed)).toEqual(Array.from(m.merge(deltas, ctx)));
        expect(Array.from(streamed)).toEqual(Array.from(naive(name, m.params, deltas, ctx)));
        // Sums read each expert once; TIES's election reads each twice.
        expect(reads.length).toBe(name.endsWith('ties') ? 2 * T : T);
      }
    });
  }

  it('refuses non-finite values and mismatched lengths, naming the tensor', async () => {
    const m = createMerger('ties', { density: 0.5 });
    const ctx = { name: 'model.norm.weight' };
    await expect(m.mergeStreamed(2, async (t) => new Float32Array(t === 0 ? [1, NaN] : [1, 2]), ctx)).rejects.toThrow(/model\.norm\.weight: task 0 has a non-finite value at index 1/);
    await expect(m.mergeStreamed(2, async (t) => new Float32Array(t === 0 ? 2 : 3), ctx)).rejects.toThrow(/task 1 has 3 elements, task 0 has 2/);
  });
});
