// DARE-TIES: DARE's random drop + rescale instead of TIES's magnitude trim, then TIES's sign
// election by total mass and disjoint mean, times lambda.
import { Lambda, parseWith } from './common.ts';
import { dare, DareSchema, type DareParams } from './dare.ts';
import type { MergeMethod } from './types.ts';

export type DareTiesParams = DareParams;

/** DARE's parameters; lambda defaults to 1 as for TIES (the disjoint mean already averages). */
const Schema = DareSchema.extend({ lambda: Lambda.default(1) }).strict();

export const dareTies: MergeMethod<DareTiesParams> = {
  name: 'dare_ties',
  summary: 'DARE drop + rescale (seeded), then TIES sign election and disjoint mean, times lambda',
  parseParams: (raw) => parseWith('dare_ties', Schema, raw),
  sparsify: dare.sparsify,
  combine: 'elect',
  manifestParams: dare.manifestParams,
};
