import { describe, expect, it } from 'vitest';
import { f32ToF16Array, f16ToF32Array } from '../../core/dtype/index.ts';
import { CpuComposer } from './cpuComposer.ts';
import { vectorDeltaAsFactor, type ExpertModule, type LowRankFactor, type SharedWeight } from './types.ts';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
}

describe('CpuComposer', () => {
  it('equals a float64 reference for odd shapes, f32/f16/int8 shared and skipped experts', async () => {
    const rand = rng(7);
    for (const dtype of ['f32', 'f16', 'int8'] as const) {
      for (const [outDim, inDim] of [[1, 1], [17, 33], [65, 7], [31, 129]] as const) {
        const n = outDim * inDim;
        const values = Float32Array.from({ length: n }, rand);
        let shared: SharedWeight;
        let ref: Float64Array;
        if (dtype === 'f32') {
          shared = { dtype, data: values };
          ref = Float64Array.from(values);
        } else if (dtype === 'f16') {
          const bits = f32ToF16Array(values);
          shared = { dtype, data: bits };
          ref = Float64Array.from(f16ToF32Array(bits));
        } else {
          const q = Int8Array.from(values, (v) => Math.round(v * 127));
          const scale = Float32Array.from({ length: outDim }, () => 0.01 + Math.abs(rand()) * 0.02);
          shared = { dtype, data: q, scale };
          ref = Float64Array.from(q, (v, e) => v * scale[Math.floor(e / inDim)]!);
        }
        const factor = (r: number): LowRankFactor => ({ rank: r, a: Float32Array.from({ length: r * inDim }, rand), b: Float32Array.from({ length: outDim * r }, rand) });
        const experts: ExpertModule[] = [
          { id: 'a', factors: new Map([['w', factor(3)]]) },
          { id: 'b', factors: new Map([['w', factor(1)]]) },
          { id: 'c', factors: new Map([['w', factor(5)]]) },
        ];
        const routing = new Map([['a', 0.5], ['b', 0.0001], ['c', -0.3]]);
        const c = new CpuComposer();
        c.addWeight({ name: 'w', outDim, inDim, shared });
        c.setExperts(experts);
        expect(await c.compose(routing)).toBe(true);
        expect(await c.compose(routing)).toBe(false); // unchanged routing: nothing to do
        const out = c.output('w');
        let maxErr = 0;
        let maxRef = 0;
        for (let o = 0; o < outDim; o++) {
          for (let i = 0; i < inDim; i++) {
            let v = ref[o * inDim + i]!;
            for (const e of experts) {
              const w = routing.get(e.id)!;
              if (Math.abs(w) < 1e-3) continue; // below the skip threshold
              const f = e.factors.get('w')!;
              for (let k = 0; k < f.rank; k++) v += w * f.b[o * f.rank + k]! * f.a[k * inDim + i]!;
            }
            maxRef = Math.max(maxRef, Math.abs(v));
            maxErr = Math.max(maxErr, Math.abs(out[i * outDim + o]! - v));
          }
        }
        expect(maxErr / maxRef, `${dtype} [${outDim}, ${inDim}]`).toBeLessThanOrEqual(1e-6);
      }
    }
  });

  it('treats a 1-D delta as a rank-1 factor and rejects factors of the wrong shape', async () => {
    const c = new CpuComposer();
    c.addWeight({ name: 'norm', outDim: 4, inDim: 1, shared: { dtype: 'f32', data: new Float32Array([1, 1, 1, 1]) } });
    c.setExperts([{ id: 'x', factors: new Map([['norm', vectorDeltaAsFactor(new Float32Array([0.5, -1, 2, 0]))]]) }]);
    await c.compose(new Map([['x', 0.5]]));
    expect(Array.from(c.output('norm'))).toEqual([1.25, 0.5, 2, 1]);
    expect(() => c.setExperts([{ id: 'y', factors: new Map([['norm', { rank: 2, a: new Float32Array(2), b: new Float32Array(3) }]]) }])).toThrow(/expert "y", norm: factors/);
    expect(() => c.setExperts([{ id: 'y', factors: new Map([['nope', vectorDeltaAsFactor(new Float32Array(4))]]) }])).toThrow(/not a mergeable weight/);
  });
});
