// extractExpert: a checkpoint factored against a built bundle's shared weights. For an expert that
// WAS in the merge it must give exactly buildTwin's module (same residual, same policy and seed), for
// every policy; a checkpoint outside the merge composes back to itself at full rank; a NaN stops it,
// naming the tensor.
import { describe, expect, it } from 'vitest';
import { createMerger } from '../merge/index.ts';
import { Rng } from '../tensor/random.ts';
import { extractExpert, ExtractError } from './extract.ts';
import { buildTwin, composeTensorCpu, type RankPolicy, type TwinSettings, type TwinWeight } from './index.ts';

const rng = new Rng(7);
const randn = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.normal());
const WEIGHTS: TwinWeight[] = [
  { name: 'layers.0.q.weight', shape: [12, 8] },
  { name: 'layers.0.up.weight', shape: [6, 10] },
  { name: 'layers.0.norm.weight', shape: [8] },
];
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const base = new Map(WEIGHTS.map((w) => [w.name, randn(numel(w.shape))]));
const experts = [0, 1, 2].map(() => new Map(WEIGHTS.map((w) => [w.name, base.get(w.name)!.map((x) => x + 0.3 * rng.normal())])));
const outsider = new Map(WEIGHTS.map((w) => [w.name, base.get(w.name)!.map((x) => x + 0.3 * rng.normal())]));
const source = { weights: WEIGHTS, expertIds: ['a', 'b', 'c'], readBase: async (n: string) => base.get(n)!.slice(), readExpert: async (t: number, n: string) => experts[t]!.get(n)!.slice() };
const settings = (policy: RankPolicy, over: Partial<TwinSettings> = {}): TwinSettings => ({ merger: createMerger('task_arithmetic', { lambda: 0.3 }), sharedDtype: 'f16', exclusiveDtype: 'f16', policy, svdSeed: 3, ...over });

describe('extractExpert', () => {
  for (const policy of [{ kind: 'fixed', rank: 3 }, { kind: 'energy', energy: 0.8 }, { kind: 'budget', share: 0.4 }] as RankPolicy[]) {
    it(`an expert of the merge gets buildTwin's module exactly (${policy.kind})`, async () => {
      const s = settings(policy);
      const built = await buildTwin(source, s);
      const got = await extractExpert('b', { weights: WEIGHTS, readShared: async (n) => built.shared.get(n)!, readExpert: async (n) => experts[1]!.get(n)!.slice() }, { policy, svdSeed: s.svdSeed, exclusiveDtype: s.exclusiveDtype });
      const want = built.experts[1]!;
      expect(got.bytes).toBe(want.bytes);
      expect(got.tensors.map((t) => [t.name, t.shape])).toEqual(want.tensors.map((t) => [t.name, t.shape]));
      for (const [i, t] of got.tensors.entries()) expect(t.data).toEqual(want.tensors[i]!.data);
    });
  }

  it('a checkpoint outside the merge composes back to itself at full rank (f32); progress per weight', async () => {
    const built = await buildTwin(source, settings({ kind: 'fixed', rank: 100 }, { sharedDtype: 'f32', exclusiveDtype: 'f32' }));
    const seen: string[] = [];
    const got = await extractExpert('x', { weights: WEIGHTS, readShared: async (n) => built.shared.get(n)!, readExpert: async (n) => outsider.get(n)!.slice() }, { policy: { kind: 'fixed', rank: 100 }, svdSeed: 0, exclusiveDtype: 'f32' }, { onWeight: (d, t, w) => seen.push(`${d}/${t} ${w.name}`) });
    expect(seen).toEqual(WEIGHTS.map((w, i) => `${i + 1}/3 ${w.name}`));
    for (const w of WEIGHTS) {
      const composed = composeTensorCpu(w.name, w.shape, built.shared.get(w.name)!, [got.module.get(w.name)], [1]);
      composed.forEach((x, i) => expect(Math.abs(x - outsider.get(w.name)![i]!)).toBeLessThan(1e-5));
    }
  });

  it('a NaN or a wrong length stops it with an ExtractError naming the tensor', async () => {
    const built = await buildTwin(source, settings({ kind: 'fixed', rank: 2 }));
    const run = (read: (n: string) => Float32Array) => extractExpert('x', { weights: WEIGHTS, readShared: async (n) => built.shared.get(n)!, readExpert: async (n) => read(n) }, { policy: { kind: 'fixed', rank: 2 }, svdSeed: 0, exclusiveDtype: 'f16' });
    const nan = outsider.get('layers.0.up.weight')!.slice();
    nan[5] = Number.NaN;
    await expect(run((n) => (n === 'layers.0.up.weight' ? nan : outsider.get(n)!.slice()))).rejects.toMatchObject({ name: 'ExtractError', reason: 'non_finite', tensor: 'layers.0.up.weight' });
    const err = await run((n) => (n === 'layers.0.q.weight' ? new Float32Array(5) : outsider.get(n)!.slice())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExtractError);
    expect(err).toMatchObject({ reason: 'shape', tensor: 'layers.0.q.weight' });
  });
});
