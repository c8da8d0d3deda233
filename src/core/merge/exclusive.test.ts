import { describe, expect, it } from 'vitest';
import { Rng } from '../tensor/random.ts';
import type { F32Tensor } from '../tensor/tensor.ts';
import { multiplyFactors } from '../linalg/svd.ts';
import {
  buildExclusiveEntry,
  composeCpu,
  composeCpuReference,
  entryTensors,
  factorDelta,
  moduleFromTensors,
  tensorDelta,
  type ExclusiveModule,
} from './index.ts';

const rng = new Rng(123);
const randn = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.normal());

const SHAPES: [string, number[]][] = [
  ['layers.0.q.weight', [12, 8]],
  ['layers.0.up.weight', [6, 10]],
  ['layers.0.norm.weight', [8]],
];

function model(scale: number, base?: Map<string, F32Tensor>): Map<string, F32Tensor> {
  return new Map(SHAPES.map(([n, s]) => {
    const size = s.reduce((a, b) => a * b, 1);
    const d = randn(size, scale);
    if (base) d.forEach((x, i) => (d[i] = x + base.get(n)!.data[i]!));
    return [n, { shape: s, data: d }];
  }));
}

function buildModule(shared: Map<string, F32Tensor>, expert: Map<string, F32Tensor>, rank: number): ExclusiveModule {
  return new Map([...shared].map(([n, t]) => [n, buildExclusiveEntry(n, t.shape, t.data, expert.get(n)!.data, rank)]));
}

describe('exclusive modules', () => {
  const shared = model(1);
  const experts = [model(0.3, shared), model(0.3, shared), model(0.3, shared)];

  it('oracle (one-hot) routing at full rank reproduces each expert to float precision', () => {
    const modules = experts.map((e) => buildModule(shared, e, 1000));
    experts.forEach((e, t) => {
      const w = experts.map((_, i) => (i === t ? 1 : 0));
      const out = composeCpu(shared, modules, w);
      for (const [n, tt] of e) {
        const got = out.get(n)!;
        let maxAbs = 0, maxErr = 0;
        tt.data.forEach((x, i) => {
          maxAbs = Math.max(maxAbs, Math.abs(x));
          maxErr = Math.max(maxErr, Math.abs(x - got[i]!));
        });
        expect(maxErr / maxAbs).toBeLessThan(2e-6);
      }
    });
  });

  it('composeCpu matches the float64 reference for mixed routing weights at low rank', () => {
    const modules = experts.map((e) => buildModule(shared, e, 3));
    const w = [0.2, 0.5, 0.3];
    const a = composeCpu(shared, modules, w);
    const b = composeCpuReference(shared, modules, w);
    for (const [n] of shared) a.get(n)!.forEach((x, i) => expect(Math.abs(x - b.get(n)![i]!)).toBeLessThan(1e-5));
    // zero weights give the shared weights back
    const z = composeCpu(shared, modules, [0, 0, 0]);
    for (const [n, t] of shared) expect(Array.from(z.get(n)!)).toEqual(Array.from(t.data));
  });

  it('low-rank entries: 2-D gets A [r,in] and B [out,r]; 1-D an exact delta; relative error is reported exactly', () => {
    const e = buildExclusiveEntry('w', [12, 8], shared.get('layers.0.q.weight')!.data, experts[0]!.get('layers.0.q.weight')!.data, 4);
    expect(e.kind).toBe('lowrank');
    const ts = entryTensors(e);
    expect(ts.map((t) => [t.name, t.shape])).toEqual([['w.A', [4, 8]], ['w.B', [12, 4]]]);
    const d = tensorDelta('w', shared.get('layers.0.q.weight')!.data, experts[0]!.get('layers.0.q.weight')!.data);
    const f = factorDelta('w', [12, 8], d, 4);
    const p = multiplyFactors(f.entry);
    let num = 0, den = 0;
    d.forEach((x, i) => {
      num += (x - p[i]!) ** 2;
      den += x * x;
    });
    expect(f.relativeError).toBeCloseTo(Math.sqrt(num / den), 5);
    const n1 = buildExclusiveEntry('n', [3], new Float32Array([1, 2, 3]), new Float32Array([1.5, 2, 2]), 4);
    expect(n1).toEqual({ kind: 'delta', name: 'n', shape: [3], delta: new Float32Array([0.5, 0, -1]) });
    expect(entryTensors(n1).map((t) => t.name)).toEqual(['n.delta']);
  });

  it('refuses bad input, naming the tensor', () => {
    expect(() => buildExclusiveEntry('x.weight', [2, 2, 2], new Float32Array(8), new Float32Array(8), 1)).toThrow(/x.weight.*1-D and 2-D/);
    expect(() => buildExclusiveEntry('x.weight', [2], new Float32Array(2), new Float32Array([0, NaN]), 1)).toThrow(/x.weight.*non-finite.*index 1/);
    expect(() => buildExclusiveEntry('x.weight', [2], new Float32Array(2), new Float32Array(3), 1)).toThrow(/x.weight/);
    const m: ExclusiveModule = new Map([['nope', { kind: 'delta', name: 'nope', shape: [1], delta: new Float32Array(1) }]]);
    expect(() => composeCpu(shared, [m], [1])).toThrow(/nope.*lacks/);
    expect(() => composeCpu(shared, [m], [1, 2])).toThrow(/routing weights/);
  });

  it('round-trips through tensors and validates them', () => {
    const mod = buildModule(shared, experts[1]!, 2);
    const tensors = new Map<string, F32Tensor>();
    for (const e of mod.values()) for (const t of entryTensors(e)) tensors.set(t.name, t);
    const expected = new Map(SHAPES.map(([n, s]) => [n, s] as const));
    const back = moduleFromTensors(tensors, expected);
    expect(back).toEqual(new Map(mod));
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

  it('composer speed ([1536, 576], rank 32, 4 experts)', () => {
    const rows = 1536, cols = 576, r = 32;
    const sh = new Map([['w', { shape: [rows, cols], data: randn(rows * cols) }]]);
    const mods: ExclusiveModule[] = Array.from({ length: 4 }, () => new Map([['w', { kind: 'lowrank' as const, name: 'w', rows, cols, rank: r, A: randn(r * cols), B: randn(rows * r) }]]));
    const t0 = performance.now();
    composeCpu(sh, mods, [0.4, 0.3, 0.2, 0.1]);
    const ms = performance.now() - t0;
    console.log(`composeCpu [1536x576] r=32 x4 experts: ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(5000);
  });
});
