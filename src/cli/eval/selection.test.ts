// The parts of `twinmerge eval` that decide what ships and what the headline says: early stop of a
// generation that can no longer match, the static merges' val grid, task-vector statistics against a
// direct float64 computation, writing the val choice into a pack config (comments kept), the headline.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { gridPoints } from './eval.ts';
import { computeHeadline } from './headline.ts';
import type { EvalResults, VariantResult } from './results.ts';
import { canStillMatch, exactMatch } from './score.ts';
import { rankConfigOf, writeChoice } from './ship.ts';
import { taskVectorStats } from './taskVectors.ts';
import { loadPackConfig } from '../pack/config.ts';

describe('early stop', () => {
  it('continues while the output is a prefix of the answer (whitespace as exactMatch trims it)', () => {
    for (const t of ['', ' ', 'H', 'HEED', ' HEEDFUL', 'HEEDFUL', 'HEEDFUL \n']) expect(canStillMatch(t, 'HEEDFUL'), JSON.stringify(t)).toBe(true);
    for (const t of ['x', 'HEX', 'HEEDFULL', 'HEEDFUL x']) expect(canStillMatch(t, 'HEEDFUL'), JSON.stringify(t)).toBe(false);
    expect(canStillMatch('caf\uFFFD', 'café')).toBe(true);
  });
  it('never stops a generation that would have matched', () => {
    const answer = 'Tiny demo, try: 12 + 30';
    for (let i = 0; i <= answer.length; i++) expect(canStillMatch(answer.slice(0, i), answer)).toBe(true);
    expect(exactMatch(answer, answer)).toBe(true);
  });
});

describe('static merges: val grid', () => {
  it('every combination, in order; an empty grid is one point', () => {
    expect(gridPoints({})).toEqual([{}]);
    expect(gridPoints({ lambda: [0.5, 1], density: [0.1, 0.2] })).toEqual([
      { lambda: 0.5, density: 0.1 }, { lambda: 0.5, density: 0.2 }, { lambda: 1, density: 0.1 }, { lambda: 1, density: 0.2 },
    ]);
  });
});

describe('task vectors', () => {
  it('cosines, shared energy and relative norms match a direct computation', () => {
    const base = new Map([['w', Float32Array.from([1, 2, 3, 4])], ['n', Float32Array.from([1, 1])]]);
    const deltas = [[0.1, 0, 0.2, 0, 0.1, 0], [0, 0.3, 0.1, 0, 0, -0.1], [0.1, 0.1, 0, 0.2, 0, 0]];
    const experts = deltas.map((d) => new Map([['w', Float32Array.from([1 + d[0]!, 2 + d[1]!, 3 + d[2]!, 4 + d[3]!])], ['n', Float32Array.from([1 + d[4]!, 1 + d[5]!])]]));
    // the same deltas as float32 differences, as the function sees them
    const tau = experts.map((e) => [...[...e.get('w')!].map((x, i) => x - base.get('w')![i]!), ...[...e.get('n')!].map((x, i) => x - base.get('n')![i]!)]);
    const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    const cos = (a: number[], b: number[]) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
    const r = taskVectorStats(['a', 'b', 'c'], base, experts);
    expect(r.cosines['a/b']).toBeCloseTo(cos(tau[0]!, tau[1]!), 12);
    expect(r.cosines['b/c']).toBeCloseTo(cos(tau[1]!, tau[2]!), 12);
    expect(r.meanCosine).toBeCloseTo((cos(tau[0]!, tau[1]!) + cos(tau[0]!, tau[2]!) + cos(tau[1]!, tau[2]!)) / 3, 12);
    const mean = tau[0]!.map((_, i) => (tau[0]![i]! + tau[1]![i]! + tau[2]![i]!) / 3);
    expect(r.sharedEnergy).toBeCloseTo(dot(mean, mean) / ((dot(tau[0]!, tau[0]!) + dot(tau[1]!, tau[1]!) + dot(tau[2]!, tau[2]!)) / 3), 12);
    expect(r.relNorm.b).toBeCloseTo(Math.sqrt(dot(tau[1]!, tau[1]!) / 32), 12);
  });
});

describe('shipping the val choice', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twinmerge-ship-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('writes lambda and the rank policy into the pack config, keeping its comments and other keys', async () => {
    const file = join(dir, 'pack.yaml');
    writeFileSync(file, ['# the zoo', 'base: base', 'experts:', '  - { id: a, path: experts/a, examples: e.json, train: t.jsonl, val: v.jsonl }', 'merge:', '  method: task_arithmetic', '  params: { lambda: 0.3 }  # chosen by eval', 'exclusive: { rank: { fixed: 16 }, dtype: f16 }', 'output: bundle', ''].join('\n'));
    await writeChoice(file, { kind: 'budget', share: 0.25, objective: 'absolute' }, 0.2);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('# the zoo');
    const c = await loadPackConfig(file);
    expect(c.merge.params.lambda).toBe(0.2);
    expect(c.exclusive).toEqual({ rank: { budget: 0.25, objective: 'absolute' }, dtype: 'f16' });
    expect((parseYaml(text) as { experts: unknown[] }).experts).toHaveLength(1);
    expect(rankConfigOf({ kind: 'fixed', rank: 32 })).toEqual({ fixed: 32 });
  });
});

describe('headline', () => {
  it('takes the val choice, routed-only at the same policy, the val-chosen static merges and the extra splits', () => {
    const score = (em: number) => ({ a: { correct: em * 10, total: 10, em } });
    const v = (id: string, n: number, share: number, extra: Partial<VariantResult> = {}): VariantResult => ({
      id, kind: 'twin', label: id, scores: score(n / 100), emAverage: n / 100, normalized: { a: n }, normalizedAverage: n,
      bytes: { shared: 1, exclusivePerExpert: share, exclusiveShare: share, total: 1 }, ranks: { max: 32, mean: 20 }, ...extra,
    });
    const split = (n: number) => ({ scores: score(n / 100), normalized: { a: n }, normalizedAverage: n });
    const r = {
      variants: [
        v('experts', 100, 1, { kind: 'expert', splits: { wording: { ...split(100), scores: score(0.8) } } }),
        v('static:Task Arithmetic', 31, 0), v('static:TIES', 12, 0), v('static:DARE-TIES', 7, 0),
        v('twin:budget25%:0.3:learned', 96, 0.24, { splits: { wording: split(90), multiturn: split(94) } }),
        v('twin:budget25%:0:learned', 60, 0.23),
      ],
      recommended: { group: 'budget25%', policy: 'budget25%', lambda: 0.3, valScore: 0.97, exclusiveShare: 0.24 },
      routers: [{ lambda: 0.3, accuracy: { train: 1, val: 1, test: 0.995, wording: 0.98 }, bestEpoch: 3 }],
      taskVectors: { cosines: {}, meanCosine: 0.12, sharedEnergy: 0.3, relNorm: {} },
    } as unknown as Omit<EvalResults, 'headline'>;
    expect(computeHeadline(r, true)).toEqual({
      taskVectorMeanCosine: 0.12, taNormalized: 31, tiesNormalized: 12, dareTiesNormalized: 7,
      twin: { normalized: 96, exclusiveShare: 0.24, lambda: 0.3, rank: 32 },
      routedOnlySameBytes: { normalized: 60, exclusiveShare: 0.23 },
      routerTestAccuracy: 0.995, routerTestWordingAccuracy: 0.98, expertsTestWordingEm: 0.8,
      twinTestWordingNormalized: 90, twinTestMultiturnNormalized: 94, shippedBundleIsValChoice: true,
    });
    expect(computeHeadline({ ...r, recommended: null }, false)).toBeNull();
  });
});
