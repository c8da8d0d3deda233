// TIES-Merging (Yadav et al., 2023): per task trim to the top-k% magnitudes (density), elect a sign
// per parameter by total mass, disjoint mean over the tasks agreeing with it, times lambda.
import { z } from 'zod';
import { Density, Lambda, keepCount, parseWith, trimTopK } from './common.ts';
import type { BaseMergeParams, MergeMethod } from './types.ts';

export interface TiesParams extends BaseMergeParams {
  /** Fraction of entries of each task vector kept (by magnitude), in (0, 1]. */
  readonly density: number;
}

const Schema = z.object({ lambda: Lambda.default(1), density: Density.default(0.2) }).strict();

export const ties: MergeMethod<TiesParams> = {
  name: 'ties',
  summary: 'trim each task vector to its top-density magnitudes, elect sign by total mass, disjoint mean, times lambda',
  parseParams: (raw) => parseWith('ties', Schema, raw),
  sparsify: (tau, _t, params) => trimTopK(tau, keepCount(params.density, tau.length)),
  combine: 'elect',
  manifestParams: (p) => ({ density: p.density }),
};
