import { describe, expect, it } from 'vitest';
import { f32ToF16Array, f16ToF32Array } from '../../core/dtype/index.ts';
import { CpuComposer } from './cpuComposer.ts';
import type { ExclusiveEntry, LowRankEntry, StoredShared } from '../../core/twin/index.ts';
import type { WeightInfo } from '../../model/llama.ts';
import type { ComposerExpert } from './types.ts';

/** A weight as the model describes it: [out, in] stored; the graph takes [in, out] unless `transposed` is false (embeddings). */
const weight = (name: string, shape: number[], transposed = true): WeightInfo =>
  ({ name, shape, role: 'other', mergeable: true, transposed, graphShape: transposed && shape.length === 2 ? [shape[1]!, shape[0]!] : shape }) as unknown as WeightInfo;
const expert = (id: string, entries: [string, ExclusiveEntry][]): ComposerExpert => ({ id, module: new Map(entries) });

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
}

describe('CpuComposer', () => {
  it('equals a float64 reference for odd shapes, f32/f16/int8 shared and skipped experts', async () => {
    const rand = rng(7);
    for (const dtype of ['f32', 'f16', 'int8'] as const) {
      for (const transposed of [true, false])
      for (const [outDim, inDim] of [[1, 1], [17, 33], [65, 7], [31, 129]] as const) {
        const n = outDim * inDim;
        const values = Float32Array.from({ length: n }, rand);
        let shared: StoredShared;
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
        const factor = (r: number): LowRankEntry => ({ kind: 'lowrank', name: 'w', rows: outDim, cols: inDim, rank: r, A: Float32Array.from({ length: r * inDim }, rand), B: Float32Array.from({ length: outDim * r }, rand) });
        const experts = [expert('a', [['w', factor(3)]]), expert('b', [['w', factor(1)]]), expert('c', [['w', factor(5)]])];
        const routing = new Map([['a', 0.5], ['b', 0.0001], ['c', -0.3]]);
        const c = new CpuComposer();
        c.addWeight(weight('w', [outDim, inDim], transposed), shared);
        c.setExperts(experts);
        expect(await c.compose(routing)).toBe(true);
        expect(await c.compose(routing)).toBe(false); // unchanged routing: nothing to do
        const out = await c.readOutput('w');
        let maxErr = 0;
        let maxRef = 0;
        for (let o = 0; o < outDim; o++) {
          for (let i = 0; i < inDim; i++) {
            let v = ref[o * inDim + i]!;
            for (const e of experts) {
              const w = routing.get(e.id)!;
              if (Math.abs(w) < 1e-3) continue; // below the skip threshold
              const f = e.module.get('w') as LowRankEntry;
              for (let k = 0; k < f.rank; k++) v += w * f.B[o * f.rank + k]! * f.A[k * inDim + i]!;
            }
            maxRef = Math.max(maxRef, Math.abs(v));
            maxErr = Math.max(maxErr, Math.abs(out[transposed ? i * outDim + o : o * inDim + i]! - v));
          }
        }
        expect(maxErr / maxRef, `${dtype} [${outDim}, ${inDim}] transposed ${transposed}`).toBeLessThanOrEqual(1e-6);
      }
    }
  });

  it('updates in place when few weights move (composePlan.ts), equal to composing from scratch', async () => {
    const rand = rng(11);
    const shapes: [string, number[], boolean][] = [['q', [24, 40], true], ['emb', [30, 24], false], ['norm', [24], false]];
    const sharedData = shapes.map(([, shape]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, rand));
    const make = () => {
      const c = new CpuComposer();
      shapes.forEach(([name, shape, transposed], i) => c.addWeight(weight(name, shape, transposed), { dtype: 'f32', data: sharedData[i]! }));
      return c;
    };
    const factor = (name: string, rows: number, cols: number, r: number): LowRankEntry => ({ kind: 'lowrank', name, rows, cols, rank: r, A: Float32Array.from({ length: r * cols }, rand), B: Float32Array.from({ length: rows * r }, rand) });
    const experts = ['a', 'b', 'c', 'd'].map((id, t) =>
      expert(id, [
        ['q', factor('q', 24, 40, 2 + t)],
        ...(t % 2 ? [] : ([['emb', factor('emb', 30, 24, 3)]] as [string, ExclusiveEntry][])),
        ['norm', { kind: 'delta', name: 'norm', shape: [24], delta: Float32Array.from({ length: 24 }, rand) }],
      ]),
    );
    const updated = make();
    updated.setExperts(experts);
    // A sequence of routings; the in-place composer follows it, a fresh one composes each from scratch.
    const seq = [
      { a: 0.5, b: 0.3, c: 0.2 },
      { a: 0.5, b: 0.25, c: 0.25 },
      { a: 0.5, b: 0.25, c: 0.15, d: 0.1 },
      { b: 1 },
      { b: 1, d: 0.1 }, // d joins: one expert moved
    ];
    const plans: (string | undefined)[] = [];
    for (const r of seq) {
      const routing = new Map(Object.entries(r));
      await updated.compose(routing);
      plans.push(updated.lastPlan);
      const fresh = make();
      fresh.setExperts(experts);
      await fresh.compose(routing);
      for (const [name] of shapes) {
        const x = await updated.readOutput(name);
        const y = await fresh.readOutput(name);
        let err = 0;
        for (let i = 0; i < x.length; i++) err = Math.max(err, Math.abs(x[i]! - y[i]!));
        expect(err, `${JSON.stringify(r)} ${name}`).toBeLessThanOrEqual(1e-5);
      }
    }
    expect(plans).toEqual(['full', 'delta', 'delta', 'full', 'delta']);
    // A weight overwritten by hand: the next composition starts from scratch.
    updated.overwrite('q', new Float32Array(24 * 40));
    await updated.compose(new Map([['b', 0.8], ['d', 0.2]]));
    expect(updated.lastPlan).toBe('full');
  });

  it('adds 1-D deltas exactly and rejects modules of the wrong shape, changing nothing', async () => {
    const c = new CpuComposer();
    c.addWeight(weight('norm', [4]), { dtype: 'f32', data: new Float32Array([1, 1, 1, 1]) });
    c.addWeight(weight('q', [2, 3]), { dtype: 'f32', data: new Float32Array(6) });
    c.setExperts([expert('x', [['norm', { kind: 'delta', name: 'norm', shape: [4], delta: new Float32Array([0.5, -1, 2, 0]) }]])]);
    await c.compose(new Map([['x', 0.5]]));
    expect(Array.from(await c.readOutput('norm'))).toEqual([1.25, 0.5, 2, 1]);
    const bad = { kind: 'lowrank', name: 'q', rows: 3, cols: 2, rank: 1, A: new Float32Array(2), B: new Float32Array(3) } as const;
    expect(() => c.setExperts([expert('y', [['q', bad]])])).toThrow(/expert "y", q: factors .* do not fit the weight's \[2,3\]/);
    expect(() => c.setExperts([expert('y', [['nope', { kind: 'delta', name: 'nope', shape: [4], delta: new Float32Array(4) }]])])).toThrow(/not a mergeable weight/);
    expect(c.expertIds).toEqual(['x']);
    expect(await c.compose(new Map([['x', 0.5]]))).toBe(false);
  });
});
