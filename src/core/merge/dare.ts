// DARE (Yu et al., 2024, "Language Models are Super Mario"): per task drop each entry with
// probability p and rescale the survivors by 1/(1-p); then lambda * sum (as Task Arithmetic).
import { z } from 'zod';
import { DropRate, Lambda, Seed, dareDrop, parseWith } from './common.ts';
import type { BaseMergeParams, MergeMethod } from './types.ts';

export interface DareParams extends BaseMergeParams {
  /** Drop probability p in [0, 1); mergekit's "density" is 1 - p. */
  readonly dropRate: number;
  readonly seed: number;
}

export const DareSchema = z
  .object({ lambda: Lambda.default(0.3), dropRate: DropRate.default(0.9), seed: Seed.default(0) })
  .strict();

export const dare: MergeMethod<DareParams> = {
  name: 'dare',
  summary: 'drop entries with probability dropRate, rescale by 1/(1-dropRate) (seeded), then lambda * sum',
  parseParams: (raw) => parseWith('dare', DareSchema, raw),
  sparsify: (tau, t, params, ctx) => dareDrop(tau, params.dropRate, params.seed, ctx.name, t),
  combine: 'sum',
  manifestParams: (p) => ({ dropRate: p.dropRate, seed: p.seed }),
};
