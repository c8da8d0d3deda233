// DARE-TIES: DARE's random drop + rescale instead of TIES's magnitude trim, then TIES's sign
// election by total mass and disjoint mean, times lambda.
import { z } from 'zod';
import { DropRate, Lambda, Seed, dareDrop, parseWith } from './common.ts';
import type { BaseMergeParams, MergeMethod } from './types.ts';

export interface DareTiesParams extends BaseMergeParams {
  readonly dropRate: number;
  readonly seed: number;
}

const Schema = z.object({ lambda: Lambda.default(1), dropRate: DropRate.default(0.9), seed: Seed.default(0) }).strict();

export const dareTies: MergeMethod<DareTiesParams> = {
  name: 'dare_ties',
  summary: 'DARE drop + rescale (seeded), then TIES sign election and disjoint mean, times lambda',
  parseParams: (raw) => parseWith('dare_ties', Schema, raw),
  sparsify: (tau, t, params, ctx) => dareDrop(tau, params.dropRate, params.seed, ctx.name, t),
  combine: 'elect',
  manifestParams: (p) => ({ dropRate: p.dropRate, seed: p.seed }),
};
