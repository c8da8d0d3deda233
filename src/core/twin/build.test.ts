// The pipeline on a tiny random zoo: what buildTwin returns, composed with composeTensorCpu, against
// float64 references (Eckart-Young errors, the experts themselves at full rank).
import { describe, expect, it } from 'vitest';
import { createMerger } from '../merge/index.ts';
import { decodeSafetensors, encodeSafetensors, toFloat32 } from '../safetensors/index.ts';
import { Rng } from '../tensor/random.ts';
import type { F32Tensor } from '../tensor/tensor.ts';
import { singularValues } from '../linalg/svd.ts';
import { buildTwin, composeTensorCpu, denseAsFactors, fullExpertBytes, moduleFromTensors, type DeltaEntry, type ExclusiveEntry, type RankPolicy, type TwinSettings, type TwinWeight } from './index.ts';

const rng = new Rng(123);
const randn = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.normal());

const WEIGHTS: TwinWeight[] = [
  { name: 'layers.0.q.weight', shape: [12, 8] },
  { name: 'layers.0.up.weight', shape: [6, 10] },
  { name: 'layers.0.norm.weight', shape: [8] },
];
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
type Model = Map<string, Float32Array>;
const base: Model = new Map(WEIGHTS.map((w) => [w.name, randn(numel(w.shape))]));
const experts: Model[] = [0, 1, 2].map(() => new Map(WEIGHTS.map((w) => [w.name, base.get(w.name)!.map((x) => x + 0.3 * rng.normal())])));
const source = { weights: WEIGHTS, expertIds: ['a', 'b', 'c'], readBase: async (n: string) => base.get(n)!.slice(), readExpert: async (t: number, n: string) => experts[t]!.get(n)!.slice() };
const settings = (policy: RankPolicy | null, over: Partial<TwinSettings> = {}): TwinSettings => ({ merger: createMerger('task_arithmetic', { lambda: 0.3 }), sharedDtype: 'f32', exclusiveDtype: 'f32', policy, svdSeed: 0, ...over });

/** float64: shared + sum_t w_t * entry_t, dense products formed first (an independent reference). */
function reference(shared: Float32Array, shape: readonly number[], entries: (ExclusiveEntry | undefined)[], w: number[]): Float64Array {
  const out = Float64Array.from(shared);
  entries.forEach((e, t) => {
    if (!e) return;
    if (e.kind === 'delta') return e.delta.forEach((d, i) => (out[i] = out[i]! + w[t]! * d));
    for (let i = 0; i < e.rows; i++)
      for (let j = 0; j < e.cols; j++) {
        let s = 0;
        for (let k = 0; k < e.rank; k++) s += e.B[i * e.rank + k]! * e.A[k * e.cols + j]!;
        out[i * e.cols + j] = out[i * e.cols + j]! + w[t]! * s;
      }
  });
  expect(shape.length).toBeGreaterThan(0);
  return out;
}

describe('buildTwin', () => {
  it('full rank: shared + the one-hot module reproduces each expert; the shared model is theta_0 + 0.3 sum tau', async () => {
    const b = await buildTwin(source, settings({ kind: 'fixed', rank: 1000 }));
    for (const w of WEIGHTS) {
      const s = b.shared.get(w.name)!;
      s.forEach((x, i) => expect(x).toBeCloseTo(base.get(w.name)![i]! + 0.3 * experts.reduce((a, e) => a + e.get(w.name)![i]! - base.get(w.name)![i]!, 0), 5));
      experts.forEach((e, t) => {
        const got = composeTensorCpu(w.name, w.shape, s, b.experts.map((x) => x.module.get(w.name)), experts.map((_, i) => (i === t ? 1 : 0)));
        got.forEach((x, i) => expect(Math.abs(x - e.get(w.name)![i]!)).toBeLessThan(2e-5));
      });
    }
  });

  it('rank r: each matrix keeps exactly the Eckart-Young error; composeTensorCpu matches a float64 reference for mixed routing', async () => {
    const b = await buildTwin(source, settings({ kind: 'fixed', rank: 3 }));
    for (const w of WEIGHTS.filter((x) => x.shape.length === 2)) {
      const [rows, cols] = w.shape as [number, number];
      experts.forEach((e, t) => {
        const E = Float32Array.from(e.get(w.name)!, (x, i) => x - b.shared.get(w.name)![i]!);
        const sig = singularValues(E, rows, cols);
        const want = Math.sqrt(sig.slice(3).reduce((a, s) => a + s * s, 0));
        const m = b.experts[t]!.module.get(w.name)!;
        expect(m.kind === 'lowrank' && m.rank).toBe(3);
        const got = reference(new Float32Array(E.length), w.shape, [m], [1]);
        expect(Math.sqrt(E.reduce((a, x, i) => a + (x - got[i]!) ** 2, 0))).toBeCloseTo(want, 4);
      });
      const mix = [0.2, 0.5, 0.3];
      const entries = b.experts.map((x) => x.module.get(w.name));
      const a = composeTensorCpu(w.name, w.shape, b.shared.get(w.name)!, entries, mix);
      const r = reference(b.shared.get(w.name)!, w.shape, entries, mix);
      a.forEach((x, i) => expect(Math.abs(x - r[i]!)).toBeLessThan(1e-5));
    }
  });

  it('the expert files it describes decode to the module it returns; a budget keeps each file within its share', async () => {
    for (const policy of [{ kind: 'fixed', rank: 2 }, { kind: 'budget', share: 0.5 }, { kind: 'energy', energy: 0.9 }] as RankPolicy[]) {
      const b = await buildTwin(source, settings(policy, { exclusiveDtype: 'f16', sharedDtype: 'int8' }));
      for (const e of b.experts) {
        const bytes = encodeSafetensors(e.tensors, e.metadata);
        expect(bytes.length).toBe(e.bytes);
        const { tensors } = decodeSafetensors(bytes);
        const back = moduleFromTensors(new Map([...tensors].map(([n, t]) => [n, { shape: t.shape, data: toFloat32(t) } as F32Tensor])));
        expect(back).toEqual(new Map(e.module));
        if (policy.kind === 'budget') expect(e.bytes).toBeLessThanOrEqual(0.5 * fullExpertBytes(WEIGHTS, 'f16') + 200);
      }
    }
  });

  it('lambda 0 keeps the base as the shared model; no policy builds the shared model only; D = shared - base is exact at full rank', async () => {
    const b0 = await buildTwin(source, settings(null, { merger: createMerger('task_arithmetic', { lambda: 0 }) }));
    expect(b0.experts).toEqual([]);
    for (const w of WEIGHTS) expect(Array.from(b0.shared.get(w.name)!)).toEqual(Array.from(base.get(w.name)!));
    const b = await buildTwin(source, settings(null, { baseDelta: { energy: 1, maxRank: 64 } }));
    expect(b.baseDelta!.relativeError).toBeLessThan(1e-6);
  });

  it('D is stored per matrix as low-rank factors, or densely where factors would not be smaller; f16 rounds it, and reads back', async () => {
    const D = (b: Awaited<ReturnType<typeof buildTwin>>) => new Map(b.baseDelta!.tensors.map((t) => [t.name, t]));
    // A full-rank D: dense ([12, 8] at rank 8 > 96 / 20), exactly shared − base.
    const dense = await buildTwin(source, settings(null, { baseDelta: { energy: 0.9999, maxRank: 64, dtype: 'f32' } }));
    const q = D(dense).get('layers.0.q.weight.delta')!;
    expect(q.shape).toEqual([12, 8]);
    Array.from(q.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(dense.shared.get('layers.0.q.weight')![i]! - base.get('layers.0.q.weight')![i]!, 6));
    expect(dense.baseDelta!.maxRank).toBe(8);
    expect(dense.baseDelta!.relativeError).toBe(0);
    // maxRank below the dense point: factors at maxRank.
    const capped = await buildTwin(source, settings(null, { baseDelta: { energy: 0.9999, maxRank: 2, dtype: 'f32' } }));
    expect(D(capped).get('layers.0.q.weight.A')!.shape).toEqual([2, 8]);
    expect(D(capped).get('layers.0.q.weight.B')!.shape).toEqual([12, 2]);
    // A rank-1 D (one expert = base + u v^T, lambda 1): factors at rank 1, whatever maxRank allows.
    const u = randn(12), v = randn(8);
    const one = new Map(WEIGHTS.map((w) => [w.name, w.name === 'layers.0.q.weight' ? base.get(w.name)!.map((x, i) => x + u[Math.floor(i / 8)]! * v[i % 8]!) : base.get(w.name)!.slice()]));
    const lowSource = { ...source, expertIds: ['a'], readExpert: async (_t: number, n: string) => one.get(n)!.slice() };
    const low = await buildTwin(lowSource, settings(null, { merger: createMerger('task_arithmetic', { lambda: 1 }), baseDelta: { energy: 0.9999, maxRank: 64, dtype: 'f32' } }));
    expect(D(low).get('layers.0.q.weight.A')!.shape).toEqual([1, 8]);
    expect(low.baseDelta!.relativeError).toBeLessThan(1e-6);
    // f16: matrices as F16 (1-D deltas stay F32), the rounding is the whole error, and the file reads back as a module.
    const half = await buildTwin(source, settings(null, { baseDelta: { energy: 0.9999, maxRank: 64, dtype: 'f16' } }));
    expect(D(half).get('layers.0.q.weight.delta')!.dtype).toBe('F16');
    expect(D(half).get('layers.0.norm.weight.delta')!.dtype).toBe('F32');
    expect(half.baseDelta!.relativeError).toBeGreaterThan(0);
    expect(half.baseDelta!.relativeError).toBeLessThan(1e-3);
    const file = decodeSafetensors(encodeSafetensors(half.baseDelta!.tensors));
    const module = moduleFromTensors(new Map([...file.tensors].map(([n, t]) => [n, { shape: t.shape, data: toFloat32(t) } as F32Tensor])), new Map(WEIGHTS.map((w) => [w.name, w.shape])));
    const back = module.get('layers.0.q.weight')!;
    expect(back.kind).toBe('delta');
    const factors = denseAsFactors(back as DeltaEntry);
    const composed = composeTensorCpu('layers.0.q.weight', [12, 8], new Float32Array(96), [factors], [1]);
    composed.forEach((x, i) => expect(x).toBeCloseTo((back as DeltaEntry).delta[i]!, 6));
  });

  it('refuses non-finite weights, naming the tensor', async () => {
    const bad = { ...source, readExpert: async (t: number, n: string) => (t === 1 && n === 'layers.0.up.weight' ? new Float32Array(60).fill(NaN) : experts[t]!.get(n)!.slice()) };
    await expect(buildTwin(bad, settings({ kind: 'fixed', rank: 2 }))).rejects.toThrow(/layers\.0\.up\.weight: task 1 has a non-finite value/);
  });
});

describe('moduleFromTensors', () => {
  it('validates pairs, ranks and shapes', async () => {
    const b = await buildTwin(source, settings({ kind: 'fixed', rank: 2 }));
    const tensors = new Map(b.experts[0]!.tensors.map((t) => [t.name, { shape: t.shape, data: t.data as Float32Array }]));
    const drop = new Map(tensors);
    drop.delete('layers.0.q.weight.B');
    expect(() => moduleFromTensors(drop)).toThrow(/layers.0.q.weight.A: has no matching layers.0.q.weight.B/);
    const bad = new Map(tensors);
    bad.set('layers.0.q.weight.B', { shape: [12, 3], data: new Float32Array(36) });
    expect(() => moduleFromTensors(bad)).toThrow(/rank mismatch/);
    expect(() => moduleFromTensors(tensors, new Map([['layers.0.q.weight', [12, 9]]]))).toThrow(/no weight|\[12, 9\]/);
    const wrong = new Map(tensors);
    wrong.set('x.weight.C', { shape: [1], data: new Float32Array(1) });
    expect(() => moduleFromTensors(wrong)).toThrow(/x.weight.C: not an exclusive-module tensor/);
  });
});
