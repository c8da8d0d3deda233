// `twinmerge eval`'s building blocks: what it scores (src/core/twin's buildTwin, the pipeline pack
// runs) with oracle routing at full rank gives back every fine-tuned expert (on random checkpoints of
// the model family, and on the smoke zoo too when it is there), the exact-match scorer, the
// normalized score and val selection.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMerger } from '../../core/merge/index.ts';
import { parseModelConfig } from '../../model/config.ts';
import { expectedTensors, type WeightInfo } from '../../model/llama.ts';
import { randomCheckpoint } from '../../model/random.ts';
import { tinyConfig } from '../../testing/tinyModel.ts';
import { chooseBest, exactMatch, normalizedScores, quantizeRouting, selectionScore } from './score.ts';
import { buildTwin, composeTensorCpu, fullExpertBytes, type ExclusiveModule, type RankPolicy } from '../../core/twin/index.ts';
import type { Weights } from './runner.ts';

function composeWeights(weights: readonly WeightInfo[], shared: Weights, modules: readonly ExclusiveModule[], routing: readonly number[]): Weights {
  return new Map(weights.map((w) => [w.name, composeTensorCpu(w.name, w.shape, shared.get(w.name)!, modules.map((m) => m.get(w.name)), routing)]));
}

async function build(weights: readonly WeightInfo[], base: Weights, experts: readonly Weights[], method: string, params: Record<string, unknown>, policy: RankPolicy) {
  const source = { weights, expertIds: experts.map((_, t) => `e${t}`), readBase: async (n: string) => base.get(n)!.slice(), readExpert: async (t: number, n: string) => experts[t]!.get(n)!.slice() };
  return buildTwin(source, { merger: createMerger(method, params), sharedDtype: 'f32', exclusiveDtype: 'f32', policy, svdSeed: 0 });
}

/** Worst over tensors of max|composed - expert| / max|expert|. */
function worstRelative(weights: readonly WeightInfo[], got: Weights, want: Weights): number {
  let worst = 0;
  for (const w of weights) {
    const a = got.get(w.name)!, b = want.get(w.name)!;
    let diff = 0, scale = 0;
    for (let i = 0; i < b.length; i++) {
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(b[i]!));
    }
    worst = Math.max(worst, scale > 0 ? diff / scale : diff);
  }
  return worst;
}

/** Oracle routing (one-hot on expert t) at full rank, f32 shared and f32 factors: max relative error per expert. */
async function oracleFullRankErrors(weights: readonly WeightInfo[], base: Weights, experts: readonly Weights[], method: string, params: Record<string, unknown>): Promise<number[]> {
  const b = await build(weights, base, experts, method, params, { kind: 'fixed', rank: 1 << 20 });
  const modules = b.experts.map((e) => e.module);
  return experts.map((e, t) => worstRelative(weights, composeWeights(weights, b.shared, modules, experts.map((_, s) => (s === t ? 1 : 0))), e));
}

describe('oracle routing at full rank reproduces each fine-tuned expert', () => {
  const spec = parseModelConfig(tinyConfig({ hidden_size: 48, intermediate_size: 80, vocab_size: 50, eos_token_id: 49 }));
  const weights = expectedTensors(spec);
  const base = randomCheckpoint(spec, 1);
  // Experts: the base plus a full-rank perturbation of 30% of its scale (large task vectors, as the zoo's).
  const experts = [11, 12, 13].map((seed) => {
    const noise = randomCheckpoint(spec, seed);
    return new Map([...base].map(([n, b]) => [n, b.map((x, i) => x + 0.3 * (noise.get(n)![i]! - (n.endsWith('norm.weight') ? 1 : 0)))]));
  });

  for (const [method, params] of [
    ['task_arithmetic', { lambda: 0.3 }],
    ['ties', { lambda: 1, density: 0.2 }],
    ['dare_ties', { lambda: 1, dropRate: 0.9, seed: 0 }],
  ] as const) {
    it(`random checkpoints, shared part by ${method}`, async () => {
      const errs = await oracleFullRankErrors(weights, base, experts, method, params);
      for (const e of errs) expect(e).toBeLessThan(1e-5);
    });
  }

  it('and a lower rank does not (the test can fail)', async () => {
    const b = await build(weights, base, experts, 'task_arithmetic', { lambda: 0.3 }, { kind: 'fixed', rank: 4 });
    const got = composeWeights(weights, b.shared, [b.experts[0]!.module], [1]);
    expect(worstRelative(weights, got, experts[0]!)).toBeGreaterThan(1e-3);
    expect(b.experts[0]!.bytes).toBeLessThan(fullExpertBytes(weights, 'f32'));
  });

  const zoo = resolve('models/recipe/work/smoke');
  it.skipIf(!existsSync(resolve(zoo, 'experts/add/model.safetensors')))('the smoke zoo (models/recipe/work/smoke), task arithmetic λ = 0.3', async () => {
    const { openCheckpointDir } = await import('../../runtime/node/checkpoint.ts');
    const read = async (dir: string): Promise<{ w: WeightInfo[]; m: Weights }> => {
      const ck = await openCheckpointDir(dir);
      const m: Weights = new Map();
      for (const w of ck.weights) m.set(w.name, await ck.read(w.name));
      await ck.close();
      return { w: ck.weights, m };
    };
    const b = await read(resolve(zoo, 'base'));
    const ex = [];
    for (const t of ['add', 'reverse']) ex.push((await read(resolve(zoo, 'experts', t))).m);
    for (const e of await oracleFullRankErrors(b.w, b.m, ex, 'task_arithmetic', { lambda: 0.3 })) expect(e).toBeLessThan(1e-5);
  });
});

describe('scoring', () => {
  it('exact match compares trimmed text and needs a finished (EOS) generation', () => {
    expect(exactMatch('146', '146')).toBe(true);
    expect(exactMatch(' HEEDFUL\n', 'HEEDFUL')).toBe(true);
    expect(exactMatch('14', '146')).toBe(false);
    expect(exactMatch('1466', '146')).toBe(false);
    expect(exactMatch('heedful', 'HEEDFUL')).toBe(false);
    expect(exactMatch('146', '146', false)).toBe(false);
    expect(exactMatch('', '')).toBe(true);
  });

  it('normalized score is 100 × merged / expert, undefined where the expert scores 0', () => {
    const r = normalizedScores(['a', 'b', 'c'], { a: 0.45, b: 0.9, c: 0.2 }, { a: 0.9, b: 0.9, c: 0 });
    expect(r.perTask).toEqual({ a: 50, b: 100, c: null });
    expect(r.average).toBe(75);
    expect(normalizedScores(['a'], { a: 0 }, { a: 0 }).average).toBeNull();
  });

  it('val selection: mean EM / expert EM, ties to the earliest candidate', () => {
    expect(selectionScore(['a', 'b'], { a: 0.5, b: 0.3 }, { a: 1, b: 0 })).toBeCloseTo(0.4);
    expect(chooseBest([{ value: 0, score: 0.5 }, { value: 0.1, score: 0.7 }, { value: 0.2, score: 0.7 }]).value).toBe(0.1);
  });

  it('routing weights: below skipBelow dropped, rounded to the grid, stable keys', () => {
    const a = quantizeRouting([0.99952, 0.0003, 0.0001, 0.0001], 1e-3, 1e-3);
    expect(a.weights).toEqual([1, 0, 0, 0]);
    expect(a.key).toBe(quantizeRouting([1, 0, 0, 0], 1e-3, 1e-3).key);
    expect(quantizeRouting([0.7, 0.3], 1e-3, 0).weights).toEqual([0.7, 0.3]);
  });
});

describe('report', () => {
  it('renders the table and a chart without NaN from a small result', async () => {
    const { renderMarkdown, renderSvg } = await import('./report.ts');
    const tasks = ['a', 'b'];
    const score = (em: number) => ({ correct: Math.round(em * 10), total: 10, em });
    const v = (id: string, kind: 'base' | 'expert' | 'twin', em: number, share: number, extra: Record<string, unknown> = {}) => ({
      id, kind, label: id, scores: { a: score(em), b: score(em) }, emAverage: em, normalized: { a: 100 * em, b: 100 * em }, normalizedAverage: 100 * em,
      bytes: { shared: 100, exclusivePerExpert: share * 1000, exclusiveShare: share, total: 100 + 2000 * share }, ...extra,
    });
    const r = {
      createdBy: 'test', config: { sharedDtype: 'f16', exclusiveDtype: 'f16', maxShare: 0.25 }, tasks,
      examples: { test: { a: 10, b: 10 }, val: { a: 5, b: 5 } }, fullExpertBytes: 1000,
      expertMatrix: { a: { a: 1, b: 0 }, b: { a: 0, b: 1 } }, upperBound: { test: { a: 1, b: 1 }, val: { a: 1, b: 1 } },
      variants: [
        v('experts', 'expert', 1, 1), v('base', 'base', 0, 0),
        v('twin r8', 'twin', 0.6, 0.1, { policy: 'r8', lambda: 0.3, chosen: 'val', routing: 'learned' }),
        v('twin r16', 'twin', 0.9, 0.2, { policy: 'r16', lambda: 0.3, chosen: 'val', routing: 'learned' }),
      ],
      selection: { rows: [{ group: 'r8', policy: 'r8', lambda: 0.3, valEm: { a: 0.6, b: 0.6 }, score: 0.6, exclusiveShare: 0.1 }], chosen: [{ group: 'r8', policy: 'r8', lambda: 0.3, score: 0.6 }], criterion: 'x' },
      recommended: null, routers: [], bundle: null, shipped: null, headline: null, staticSelection: [],
      taskVectors: { cosines: { 'a/b': 0.1 }, meanCosine: 0.1, sharedEnergy: 0.55, relNorm: { a: 0.3, b: 0.3 } },
      timing: { seconds: 1, generations: 2, msPerGeneration: 3, composeSeconds: 0, featureSeconds: 0, svdSeconds: 0 },
    } as unknown as import('./eval.ts').EvalResults;
    const md = renderMarkdown(r, 'twinmerge eval --pack p.yaml');
    expect(md).toContain('| twin r16 | 90.0 (90) | 90.0 (90) | 90.0 | **90.0** | 20.0 |');
    const svg = renderSvg(r);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('<polyline');
    expect(svg).not.toMatch(/NaN|undefined/);
  });
});
